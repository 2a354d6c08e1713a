package loadgen

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// netSender writes to a TCP connection at a paced rate (bits/s), dialling
// again after a failure. "Got" is what write() accepted: with a shaped link
// the socket buffer fills and writes block, so over a step it is the rate
// the link really carries (plus at most one socket buffer).
type netSender struct {
	to   string
	step time.Duration
	pace pacer
	wg   sync.WaitGroup

	mu    sync.Mutex
	chunk int
	err   error
}

const netMaxChunk = 64 << 10

func newNetSender(to string, step time.Duration) *netSender {
	return &netSender{to: to, step: step, chunk: 1024}
}

func (s *netSender) setRate(bits float64, now time.Time) {
	s.mu.Lock()
	s.chunk = chunkFor(bits/8, s.step, 1, 1024, netMaxChunk)
	s.mu.Unlock()
	s.pace.reset(bits/8, now)
}

func (s *netSender) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *netSender) takeErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.err
	s.err = nil
	return err
}

func (s *netSender) run(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, netMaxChunk)
		d := net.Dialer{Timeout: time.Second}
		for ctx.Err() == nil {
			c, err := d.DialContext(ctx, "tcp", s.to)
			if err != nil {
				if ctx.Err() == nil {
					s.fail(err)
				}
				sleepCtx(ctx, 200*time.Millisecond)
				continue
			}
			stop := context.AfterFunc(ctx, func() { c.Close() }) // unblocks a write
			for {
				s.mu.Lock()
				n := s.chunk
				s.mu.Unlock()
				if !s.pace.wait(ctx, n) {
					break
				}
				k, err := c.Write(buf[:n])
				s.pace.done.Add(int64(k))
				if err != nil {
					if ctx.Err() == nil {
						s.fail(err)
					}
					break
				}
			}
			stop()
			c.Close()
		}
	}()
}

func (s *netSender) close() { s.wg.Wait() }

// sink accepts TCP connections and discards what they send, counting it.
type sink struct {
	ln   net.Listener
	recv atomic.Int64
	wg   sync.WaitGroup
}

func listen(addr string) (*sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &sink{ln: ln}, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) run(ctx context.Context) {
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-ctx.Done()
		s.ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
					return
				}
				sleepCtx(ctx, 50*time.Millisecond)
				continue
			}
			mu.Lock()
			if ctx.Err() != nil {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = true
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				buf := make([]byte, 128<<10)
				for {
					n, err := c.Read(buf)
					s.recv.Add(int64(n))
					if err != nil {
						break
					}
				}
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
}

func (s *sink) close() { s.wg.Wait() }

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

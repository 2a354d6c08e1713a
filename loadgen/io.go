package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	ioAlign    = 4096      // O_DIRECT wants buffers, sizes and offsets aligned to the logical block size
	ioMaxChunk = 256 << 10 // largest single write
	ioWrap     = 64 << 20  // a regular file is rewritten from 0 past this size, so it stays bounded
)

// ioWriter writes with O_DIRECT (past the page cache, so the block layer,
// and a blkio/io throttle, sees every byte as the process writes it) at a
// paced rate, rewriting its file in a ring.
type ioWriter struct {
	f      *os.File
	remove string // a temp file to remove at the end
	size   int64  // the ring: offsets wrap here
	buf    []byte // page aligned (mmapped)
	pace   pacer
	step   time.Duration
	wg     sync.WaitGroup

	mu    sync.Mutex
	chunk int
	err   error
}

// openIO opens file (a new temporary file when ""), for direct writes.
func openIO(file string, step time.Duration) (*ioWriter, error) {
	w := &ioWriter{step: step, chunk: ioAlign}
	if file == "" {
		f, err := os.CreateTemp("", "allot-loadgen-io-")
		if err != nil { // FROM scratch has no /tmp: try the working directory
			f, err = os.CreateTemp(".", "allot-loadgen-io-")
		}
		if err != nil {
			return nil, fmt.Errorf("--io: creating a temporary file: %w", err)
		}
		file = f.Name()
		w.remove = file
		f.Close()
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|syscall.O_DIRECT, 0o600)
	if err != nil {
		w.cleanup()
		if errors.Is(err, syscall.EINVAL) {
			return nil, fmt.Errorf("--io-file %s: the file system does not support direct I/O (O_DIRECT)", file)
		}
		return nil, fmt.Errorf("--io-file: %w", err)
	}
	w.f = f
	st, err := f.Stat()
	if err != nil {
		w.close()
		return nil, fmt.Errorf("--io-file: %w", err)
	}
	w.size = ioWrap
	if st.Mode()&os.ModeDevice != 0 { // a block device: its whole size
		end, err := f.Seek(0, io.SeekEnd)
		if err != nil || end < ioAlign {
			w.close()
			return nil, fmt.Errorf("--io-file %s: cannot tell the device's size (%v)", file, err)
		}
		w.size = end / ioAlign * ioAlign
	}
	w.buf, err = syscall.Mmap(-1, 0, ioMaxChunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		w.close()
		return nil, fmt.Errorf("--io: buffer: %w", err)
	}
	for i := range w.buf {
		w.buf[i] = byte(i*7 + 1)
	}
	return w, nil
}

// setRate starts a step at now with rate bytes/s.
func (w *ioWriter) setRate(rate float64, now time.Time) {
	w.mu.Lock()
	w.chunk = min(chunkFor(rate, w.step, ioAlign, ioAlign, ioMaxChunk), int(w.size))
	w.mu.Unlock()
	w.pace.reset(rate, now)
}

// ioDepth is how many writes are in flight. One synchronous writer would
// spend each write's device latency on top of the throttle's wait, and get
// less than a limit it asks more than (measured: 8 MiB/s under a 10 MiB/s
// blkio limit on a busy loop device); with a few in flight the throttle's
// queue is never empty, so the limit, not the latency, sets the rate.
const ioDepth = 4

// run writes until ctx ends.
func (w *ioWriter) run(ctx context.Context) {
	var next atomic.Int64
	for range ioDepth {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				w.mu.Lock()
				n := w.chunk
				w.mu.Unlock()
				if !w.pace.wait(ctx, n) {
					return
				}
				off := (next.Add(int64(n)) - int64(n)) % w.size
				if off+int64(n) > w.size {
					off = 0
				}
				k, err := w.f.WriteAt(w.buf[:n], off)
				w.pace.done.Add(int64(k))
				if err != nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
					select { // do not spin on a failing device
					case <-ctx.Done():
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		}()
	}
}

// takeErr returns (and forgets) the last write error.
func (w *ioWriter) takeErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	w.err = nil
	return err
}

// close waits for the writer (its ctx must have ended) and removes a temp file.
//
// Under a blkio throttle, writes in flight at the end were seen to take
// seconds to return (not understood yet), so it waits at most 2 s for them;
// then it leaves the file and buffer to the process's exit.
func (w *ioWriter) close() {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		w.cleanup()
		return
	}
	if w.f != nil {
		w.f.Close()
	}
	if w.buf != nil {
		_ = syscall.Munmap(w.buf)
		w.buf = nil
	}
	w.cleanup()
}

func (w *ioWriter) cleanup() {
	if w.remove != "" {
		os.Remove(w.remove)
		w.remove = ""
	}
}

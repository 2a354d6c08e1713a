package clusterbench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// percentile of xs (nearest rank); 0 for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return round(float64(d.Microseconds())/1000, 2) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	ms []float64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ms = append(l.ms, float64(d.Microseconds())/1000)
	l.mu.Unlock()
}

func (l *latencies) p(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return round(percentile(l.ms, q), 2)
}

// rssMB is this process's resident set size (Linux), 0 if unknown.
func rssMB() float64 { return statusMB("VmRSS:")[0] }

// liveHeapMB is the Go heap still reachable after a collection: what the
// three servers and the simulated nodes hold, without the garbage an RSS
// figure includes.
func liveHeapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return round(float64(ms.HeapAlloc)/(1<<20), 1)
}

// oneServer stops every server but keep and measures the live heap and
// the RSS once freed memory is returned to the OS (see Result).
func oneServer(f *fleet, keep *server) (heapMB, rssMBAfter float64, parts MemoryBreakdown) {
	for _, s := range f.servers {
		if s != keep {
			f.stopServer(s)
		}
	}
	heapMB = liveHeapMB()
	debug.FreeOSMemory()
	return heapMB, rssMB(), memoryBreakdown()
}

// rssSampler samples rssMB every period until ctx ends.
type rssSampler struct {
	mu      sync.Mutex
	samples []float64
}

func (r *rssSampler) run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		r.mu.Lock()
		r.samples = append(r.samples, rssMB())
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *rssSampler) snapshot() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

// countingTransport counts the response body bytes each caller reads.
type countingTransport struct {
	base  http.RoundTripper
	bytes atomic.Int64
}

// CloseIdleConnections passes http.Client.CloseIdleConnections on.
func (c *countingTransport) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.bytes}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// pooledTransport keeps enough idle connections for conns concurrent callers
// (the default keeps 2 per host: the rest would dial per request).
func pooledTransport(conns int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns
	return tr
}

// dirBytes is the size of the files under dir named name ("" for all).
func dirBytes(dir, name string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (name != "" && d.Name() != name) {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n
}

// writeHeapProfile writes the live heap's profile (after a collection) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("writing heap profile: %w", err)
	}
	return f.Close()
}

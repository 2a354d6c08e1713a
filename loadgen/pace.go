package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pacer lets bytes through at a rate, restarted every step: what a step
// did not use is not carried into the next, so a writer that was held back
// (a throttled disk, a shaped link) does not burst when the limit lifts.
// A chunk may go as soon as the bytes granted so far in the step are
// below rate × elapsed, so a step ends at most one chunk ahead of its rate.
type pacer struct {
	mu    sync.Mutex
	rate  float64 // bytes/s
	start time.Time
	sent  float64
	done  atomic.Int64 // bytes really written (the writer adds them)
}

func (p *pacer) reset(rate float64, now time.Time) {
	p.mu.Lock()
	p.rate, p.start, p.sent = rate, now, 0
	p.mu.Unlock()
}

// wait blocks until n more bytes may go; false when ctx ended.
func (p *pacer) wait(ctx context.Context, n int) bool {
	for {
		p.mu.Lock()
		rate := p.rate
		var d time.Duration
		if rate > 0 {
			allowed := rate * time.Since(p.start).Seconds()
			if p.sent < allowed {
				p.sent += float64(n)
				p.mu.Unlock()
				return true
			}
			d = time.Duration((p.sent - allowed) / rate * float64(time.Second))
		}
		p.mu.Unlock()
		d = min(max(d, 200*time.Microsecond), 20*time.Millisecond)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// chunkFor picks a write size: about 1/64 of a step's bytes, a multiple of
// align, between lo and hi.
func chunkFor(rate float64, step time.Duration, align, lo, hi int) int {
	n := int(rate*step.Seconds()/64) / align * align
	return min(max(n, lo), hi)
}

package eval

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress draws a bar on w (normally stderr); safe for concurrent Inc.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int
	done  int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, label string, total int) *progress {
	return &progress{w: w, label: label, total: total, start: time.Now()}
}

func (p *progress) Inc() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	now := time.Now()
	if p.done < p.total && now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	fill := width * p.done / max(p.total, 1)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %.0fs", p.label, strings.Repeat("=", fill),
		strings.Repeat(" ", width-fill), p.done, p.total, now.Sub(p.start).Seconds())
	if p.done >= p.total {
		fmt.Fprintln(p.w)
	}
}

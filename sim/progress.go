package sim

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a bar on stderr from a shared counter until stopped.
type progress struct {
	quit chan struct{}
	done chan struct{}
}

func startProgress(out io.Writer, n *atomic.Int64, total int64) *progress {
	p := &progress{quit: make(chan struct{}), done: make(chan struct{})}
	began := time.Now()
	draw := func() {
		x := min(n.Load(), total)
		frac := float64(x) / float64(max(total, 1))
		const width = 40
		fill := int(frac * width)
		fmt.Fprintf(out, "\r[%s%s] %3.0f%% %5.1fs", strings.Repeat("#", fill), strings.Repeat(".", width-fill), 100*frac, time.Since(began).Seconds())
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				draw()
				fmt.Fprintln(out)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	close(p.quit)
	<-p.done
}

package client

import (
	"context"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/cenkalti/backoff/v4"
)

// newBackoff is a capped exponential backoff with jitter that never gives up.
func newBackoff(initial, max time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = initial, max, 0
	b.Reset()
	return b
}

// watch is the one plan watcher: one blocking query at a time, with one
// backoff. It sends every plan whose index is above the last one sent
// (rule 8: a response that is not newer is dropped) and keeps only the
// latest when the receiver is busy. While no server answers it keeps
// asking; the plan in force stays (fail-static).
func (c *Client) watch(ctx context.Context, from uint64, out chan bidding.Plan) {
	b := newBackoff(500*time.Millisecond, 30*time.Second)
	index := from
	failing := false
	for ctx.Err() == nil {
		p, err := c.api.WatchPlan(ctx, index, c.cfg.Wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			switch {
			case api.IsNotFound(err): // no plan committed yet
			case !failing:
				c.log.Warn("plan watch failed; keeping the last plan in force", "error", err)
				failing = true
			default:
				c.log.Debug("plan watch failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(b.NextBackOff()):
			}
			continue
		}
		if failing {
			c.log.Info("plan watch works again", "index", p.Index)
			failing = false
		}
		b.Reset()
		if p.Index <= index {
			continue
		}
		index = p.Index
		// Replace a plan the receiver has not taken yet: only the latest matters.
		select {
		case <-out:
		default:
		}
		select {
		case out <- p:
		case <-ctx.Done():
			return
		}
	}
}

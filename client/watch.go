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

// watch is the one plan watcher: one blocking query for this node's slice
// of the plan at a time (WatchNodePlan), with one backoff. It sends every
// plan whose index is above the last one sent (rule 8: a response that is
// not newer is dropped) and keeps only the latest when the receiver is
// busy. While no server answers it keeps asking; the plan in force stays
// (fail-static).
//
// Every new plan is sent, changed or not: the loop measures and bids once
// per plan. A plan that left this node's allocations as they were comes as
// a stub (Unchanged, no allocations); the watcher sends the slice it holds
// under the new plan's epoch, index, creation time and hash. have is that
// slice: the plan in force at start (restored from disk, possibly a whole
// plan: it holds this node's allocations all the same), then each full
// slice received. A stub while it holds none (it cannot happen with a
// server that compares with the index asked for) makes it ask again from
// index 0, which answers the whole slice at once.
func (c *Client) watch(ctx context.Context, have *bidding.Plan, out chan bidding.Plan) {
	b := newBackoff(500*time.Millisecond, 30*time.Second)
	var sent, ask uint64 // the last index sent; the index asked with
	if have != nil {
		sent, ask = have.Index, have.Index
	}
	failing := false
	var lastRefused time.Time
	const refusedEvery = 5 * time.Minute
	for ctx.Err() == nil {
		p, err := c.api.WatchNodePlan(ctx, c.cfg.Node, ask, c.cfg.Wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			switch {
			case api.IsNotFound(err): // no plan committed yet (or this node not known yet)
			case api.IsForbidden(err) && time.Since(lastRefused) > refusedEvery:
				// Not a passing fault: without a token that may read, this
				// node never gets a plan (issue 13: it was logged at DEBUG).
				c.log.Error("plan watch refused: this agent needs an ACL token that may read (acl { tokens { agent = \"…\" } } or ALLOT_ACL_TOKENS_AGENT); keeping the last plan in force", "error", err)
				lastRefused, failing = time.Now(), true
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
		if p.Unchanged && have == nil {
			ask = 0
			continue
		}
		if p.Index <= sent {
			continue // an older answer (a server behind): the slice held stays the one at ask
		}
		if p.Unchanged {
			p = withSlice(p, have)
		} else {
			full := p
			have = &full
		}
		sent, ask = p.Index, p.Index
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

// withSlice completes a stub with the allocations and node entry of the
// slice the watcher holds (the stats stay those of that slice's plan).
func withSlice(stub bidding.Plan, have *bidding.Plan) bidding.Plan {
	p := *have
	p.Epoch, p.Index, p.InputIndex, p.Created, p.Hash = stub.Epoch, stub.Index, stub.InputIndex, stub.Created, stub.Hash
	p.Node, p.NodeHash = stub.Node, stub.NodeHash
	return p
}

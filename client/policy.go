package client

import (
	"context"
	"math"
	"slices"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
)

// Policy "static" (Config.Policy): the client enforces what an operator
// sizing by hand would set — each service's baseline.StaticLevel of its
// imported usage history (`allot usage import`), fit to the node's
// capacity as the plan states it, after the solver's reserve and headroom
// (baseline.Fit, as `allot sim`'s
// static policy) — instead of the plan's allocations. Everything else runs
// as under "allot": it measures, forecasts and bids, so the plans (and
// `plan explain`) show what Allot would have granted beside the limits in
// force (shadow mode), and usage is reported. No demand probe runs: it
// would lift the limits the policy fixes. A resource with no history keeps
// the plan's allocation (logged once per service).

// staticLevels are a service's static limits per resource (NaN: no
// history for that resource).
type staticLevels [bidding.NumResources]float64

// staticAllocs replaces the allocations of the services a runtime manages
// with their static levels.
func (c *Client) staticAllocs(ctx context.Context, allocs []bidding.Allocation) []bidding.Allocation {
	out := append([]bidding.Allocation(nil), allocs...)
	// Hand-set limits do not wait for a plan: a managed service the plan
	// does not allocate to yet (it has not bid) gets its static limits too,
	// from the moment it is discovered (the plan in force is re-applied
	// then), as `docker run --memory` would set them at start.
	in := map[string]bool{}
	for _, a := range out {
		in[a.Service] = true
	}
	c.mu.Lock()
	var extra []string
	for name := range c.owner {
		if !in[name] && !c.gone[name] {
			extra = append(extra, name)
		}
	}
	c.mu.Unlock()
	slices.Sort(extra)
	for _, name := range extra {
		out = append(out, bidding.Allocation{Service: name, Node: c.cfg.Node})
	}
	var idx []int
	var req [][bidding.NumResources]float64
	for i, a := range out {
		c.mu.Lock()
		_, owned := c.owner[a.Service]
		c.mu.Unlock()
		if !owned {
			continue
		}
		lv, ok := c.staticLevelsOf(ctx, a.Service)
		if !ok {
			continue
		}
		var q [bidding.NumResources]float64
		for r := range bidding.NumResources {
			q[r] = lv[r]
			if math.IsNaN(q[r]) {
				q[r] = float64(a.Get(bidding.Resource(r)))
			}
		}
		idx, req = append(idx, i), append(req, q)
	}
	if len(idx) == 0 {
		return out
	}
	// A service gone for a moment (its container restarting after an OOM
	// kill) keeps its place in the fit: hand-set limits of the others do
	// not grow while it is away.
	c.mu.Lock()
	capacity := c.capacity
	var away []string
	for name := range c.gone {
		if lv := c.static[name]; lv != nil {
			away = append(away, name)
		}
	}
	slices.Sort(away)
	for _, name := range away {
		var q [bidding.NumResources]float64
		for r, v := range *c.static[name] {
			if !math.IsNaN(v) {
				q[r] = v
			}
		}
		req = append(req, q)
	}
	c.mu.Unlock()
	var eff [bidding.NumResources]float64 // the plan states the node's capacity after reserve and headroom
	for r := range bidding.NumResources {
		eff[r] = float64(capacity[r])
	}
	for k, v := range baseline.Fit(req, eff)[:len(idx)] {
		a := &out[idx[k]]
		for r := range bidding.NumResources {
			a.Set(bidding.Resource(r), v[r])
		}
	}
	return out
}

// staticLevelsOf returns service's static levels, computed once from its
// imported history (ok false, warned once, when it has none).
func (c *Client) staticLevelsOf(ctx context.Context, service string) (staticLevels, bool) {
	c.mu.Lock()
	lv, done := c.static[service]
	c.mu.Unlock()
	if done {
		return derefLevels(lv)
	}
	h, err := c.api.UsageHistory(ctx, service, c.cfg.Node)
	var got *staticLevels
	if err == nil {
		var l staticLevels
		found := false
		for r := range bidding.NumResources {
			pts := h.Points[bidding.Resource(r).String()]
			l[r] = math.NaN()
			if len(pts) == 0 {
				continue
			}
			vs := make([]float64, len(pts))
			for i, p := range pts {
				vs[i] = p.V
			}
			l[r], found = baseline.StaticLevel(vs), true
		}
		if found {
			got = &l
			c.log.Info("static policy: limits from the imported history", "service", service, "cpu", l[bidding.CPU], "memory", l[bidding.Memory], "points", len(h.Points[bidding.CPU.String()]))
		}
	}
	if got == nil {
		if ctx.Err() != nil {
			return staticLevels{}, false
		}
		c.log.Warn("static policy: no imported usage history for this service; enforcing the plan's allocation", "service", service, "error", err)
	}
	c.mu.Lock()
	c.static[service] = got
	c.mu.Unlock()
	return derefLevels(got)
}

func derefLevels(l *staticLevels) (staticLevels, bool) {
	if l == nil {
		return staticLevels{}, false
	}
	return *l, true
}

package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
)

// A service held at its limit uses only that limit: a throttled service's
// usage shows its quota, and its throttled time only that it wanted more,
// up to every CPU it can run on; io and net are capped silently (io.max,
// tc), with no sign at all of what they wanted. When the node has room —
// capacity the plan in force leaves unallocated — the client finds out how
// much more: it lifts the service's limits into that room for a short
// window, measures what the service then uses, and puts the plan's limits
// back. Nothing is taken from anyone (the room is unallocated), the window
// is short beside the epoch, and the measurement is a real demand, so the
// next bid asks for it and not for a guess.

// nodeCapacity is node's capacity as the plan says (zero when it does not).
func nodeCapacity(p bidding.Plan, node string) bidding.Vec {
	for _, n := range p.Nodes {
		if n.Node == node {
			return n.Capacity
		}
	}
	return bidding.Vec{}
}

// mine is this node's allocations in plan p, by service.
func (c *Client) mine(p bidding.Plan) map[string]bidding.Allocation {
	out := map[string]bidding.Allocation{}
	for _, a := range enforce.Slice(p, c.cfg.Node) {
		out[a.Service] = a
	}
	return out
}

// nodeRoom is what the plan leaves unallocated on node, per resource (0
// for a resource whose capacity the plan does not say).
func nodeRoom(p bidding.Plan, node string) bidding.Vec {
	room := nodeCapacity(p, node)
	for _, a := range p.Allocations {
		if a.Node == node {
			for _, r := range bidding.Resources() {
				room[r] -= a.Get(r)
			}
		}
	}
	for r := range room {
		room[r] = max(room[r], 0)
	}
	return room
}

// probeable is which of a service's resources its limit held back over the
// interval, so that lifting the limit may show more: cpu throttled at its
// quota (throttledAtQuota; one that only waits for CPUs others hold would
// not get more from a higher quota) or near it when io or net is probed,
// io and net used to at least
// bidrule.AtLimit of a limit in force (inForce: the previous plan's; a zero
// limit is no limit), and those a look probed since the last epoch step
// (looked: a look's lend served part of the interval, so its usage is
// neither the demand nor held at the limit in force). Memory is not
// probed: a higher limit shows no demand until the service grows into it.
func probeable(u usage.Usage, inForce bidding.Allocation, looked []bidding.Resource) []bidding.Resource {
	var rs []bidding.Resource
	if throttledAtQuota(u) || slices.Contains(looked, bidding.CPU) {
		rs = append(rs, bidding.CPU)
	}
	for _, r := range []bidding.Resource{bidding.IO, bidding.Net} {
		if u.Have[r] && atLimit(r, u.Value[r], inForce.Get(r)) || slices.Contains(looked, r) {
			rs = append(rs, r)
		}
	}
	// A service doing more io or net needs more cpu for it: its cpu quota
	// (when the plan sets one) is lifted with them, or the quota caps what
	// the probe reads. Measured live: under a 20m quota an io probe read
	// 41–50 of 52 MiB/s with CFS throttling every period; net probes that
	// left an 11–15m quota in place read 43–70 for a 50 Mbit/s load (CFS
	// throttled every period; the plan before had no quota, so the service
	// was near none), those that lifted it 50.0–50.8. A quota the service
	// was far below at the old rate is no sign it suffices at the probed
	// one (5× the net there). Its cpu reading is kept only when the quota
	// could have held it (alongCPU).
	if len(rs) > 0 && rs[0] != bidding.CPU {
		rs = append([]bidding.Resource{bidding.CPU}, rs...)
	}
	return rs
}

// alongCPU reports whether a probe's cpu reading is bid, for a service
// whose cpu was lifted only along with its io or net (probeable; u is the
// interval's usage, quota the one the probe lifted): when it used ≥ 80% of
// its quota over the interval, or when the reading reaches 80% of the
// quota the probe lifted — that quota would have held it at the probed io
// or net rate. Otherwise the reading (one window, at a quota it did not
// need) would replace its cpu forecast with nothing to say for it.
func alongCPU(u usage.Usage, reading float64, quota int64) bool {
	return throttledAtQuota(u) || nearQuota(u) || reading >= pressedNearLimit*float64(quota)
}

// probeWant is a service and the resources a probe should lift (probeable),
// with its usage over the interval.
type probeWant struct {
	d   discovered
	res []bidding.Resource
	u   usage.Usage
	// looked: a look probed it since the last epoch step (epoch.go), so
	// cpu is probed even when the interval was not held at its quota.
	looked bool
}

// probed is what a demand probe measured of one resource of one service.
type probed struct {
	value float64 // used under the lifted limit (base units)
	// held: the lifted limit held it back too (cpu: CFS throttled it in ≥
	// 20% of periods; io, net: it used ≥ 95% of the lifted limit), so
	// value is a lower bound of its demand, not the demand.
	held bool
}

// probedSurge is how a probed resource is observed and bid: the forecaster
// observes what it used under the lifted limit (never less than its usage
// over the interval), bid as it is (Exact: p50 and p90 at it, p99
// bidrule.ProbedMargin above) unless the lifted limit held it too. Then io and net
// are floored at it (still a lower bound: nothing bounds them above), and
// cpu keeps its throttled time's upper bound (ok false: the pressed bid
// stands).
func probedSurge(r bidding.Resource, pr probed, use float64) (observe float64, s *bidrule.Surge, ok bool) {
	observe = max(pr.value, use)
	switch {
	case !pr.held:
		return observe, &bidrule.Surge{Demand: observe, Margin: bidrule.ProbedMargin, Exact: true}, true
	case r != bidding.CPU:
		return observe, &bidrule.Surge{Demand: observe}, true
	}
	return 0, nil, false
}

// probeDemand lifts the limits the services want probed into the node's
// room (what plan p leaves unallocated less what is lent; each resource's
// room shared evenly among the services that want it, never above a
// service's max; all of a service's resources in one apply), lets them
// settle, measures each over one window, puts back the limits in force
// (the plan's and what is lent) and returns what each used, per service
// and resource. A resource without enough room (bidrule.MinProbeRoom per service that
// wants it), or whose lift would be less than that, is left out, as is a
// service whose probe could not be made.
func (c *Client) probeDemand(ctx context.Context, p bidding.Plan, wants []probeWant) map[string]map[bidding.Resource]probed {
	if len(wants) == 0 || c.cfg.Measure == nil || c.cfg.Policy == baseline.Static {
		return nil
	}
	capacity, room := nodeCapacity(p, c.cfg.Node), c.roomLeft(p)
	var n, share bidding.Vec // services that want r probed; the lift each gets (0: r is not probed)
	for _, w := range wants {
		for _, r := range w.res {
			n[r]++
		}
	}
	for r := range n {
		if n[r] > 0 && room[r] > 0 && float64(room[r]) >= bidrule.MinProbeRoom(bidding.Resource(r), float64(capacity[r]))*float64(n[r]) {
			share[r] = room[r] / n[r]
		}
	}
	mine := withLent(c.mine(p), c.lent) // the limits in force, put back after
	type lift struct {
		d   discovered
		up  bidding.Allocation // the plan's allocation with res lifted
		res []bidding.Resource
		u   usage.Usage // over the interval
	}
	var lifts []lift
	var restore []discovered
	for _, w := range wants {
		a, ok := mine[w.d.Def.Name]
		if !ok {
			continue
		}
		l := lift{d: w.d, up: a, u: w.u}
		for _, r := range w.res {
			limit := a.Get(r)
			if share[r] == 0 || limit == 0 { // no room; no limit in force: nothing to lift
				continue
			}
			v := limit + share[r]
			if m := w.d.Def.Max[r]; m > 0 {
				v = min(v, m)
			}
			if float64(v-limit) < bidrule.MinProbeRoom(r, float64(capacity[r])) { // at its max already
				continue
			}
			l.up.Set(r, v)
			l.res = append(l.res, r)
		}
		if len(l.res) == 0 || len(l.res) == 1 && l.res[0] == bidding.CPU && !throttledAtQuota(w.u) && !w.looked {
			continue // nothing to lift; or cpu only, wanted along with io or net that are not lifted
		}
		restore = append(restore, w.d)
		if err := w.d.rt.Apply(ctx, []bidding.Allocation{l.up}); err != nil {
			c.log.Warn("demand probe: could not lift the limits", "service", w.d.Def.Name, "resources", l.res, "error", err)
			continue
		}
		lifts = append(lifts, l)
	}
	defer c.restoreProbed(ctx, p, restore, mine)
	if len(lifts) == 0 {
		return nil
	}
	read := func(d discovered, now time.Time) usage.Usage { return c.readAs("probe", d, now) }
	w := bidrule.ProbeWindow(c.settings.interval)
	for _, wait := range []time.Duration{w * 3 / 2, w} { // settle, then measure
		if wait == w {
			for _, l := range lifts {
				read(l.d, c.now())
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	out := map[string]map[bidding.Resource]probed{}
	for _, l := range lifts {
		u := read(l.d, c.now())
		plan := mine[l.d.Def.Name]
		for _, r := range l.res {
			if !u.Have[r] {
				continue
			}
			pr := probed{value: u.Value[r]}
			kept := true
			if r == bidding.CPU {
				pr.held = u.HaveThrottled && u.ThrottledPeriods >= pressedThrottled
				kept = alongCPU(l.u, pr.value, plan.CPU)
			} else {
				pr.held = atLimit(r, pr.value, l.up.Get(r))
			}
			c.log.Debug("demand probe", "service", l.d.Def.Name, "resource", r, "limit", plan.Get(r), "lifted_to", l.up.Get(r),
				"measured", int64(pr.value), "throttled_periods", u.ThrottledPeriods, "held", pr.held, "kept", kept)
			if !kept {
				continue
			}
			if out[l.d.Def.Name] == nil {
				out[l.d.Def.Name] = map[bidding.Resource]probed{}
			}
			out[l.d.Def.Name][r] = pr
		}
	}
	return out
}

// restoreProbed puts the limits in force (mine: the plan's and what is
// lent) back on the probed services, even
// when ctx has ended (an agent stopping mid-probe must not leave a lifted
// limit behind: the plan in force stays in force); a failure re-applies the
// whole plan.
func (c *Client) restoreProbed(ctx context.Context, p bidding.Plan, probed []discovered, mine map[string]bidding.Allocation) {
	if len(probed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var errs []error
	for _, d := range probed {
		if err := d.rt.Apply(ctx, []bidding.Allocation{mine[d.Def.Name]}); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", d.Def.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.log.Error("demand probe: restoring the limits in force failed; re-applying the plan", "error", err)
		if err := c.reapply(ctx, p); err != nil {
			c.log.Error("re-applying the plan after a demand probe", "error", err)
		}
	}
}

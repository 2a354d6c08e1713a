package client

import (
	"context"
	"slices"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/usage"
)

// A burst that starts mid-epoch would wait for the next epoch step to be
// measured and lent to: a whole epoch at its old share while its node has
// room. So between epoch steps the node loop looks every
// bidrule.LendEvery(epoch) (ten seconds at most): a service its limit in
// force (the plan's and what is lent) held back since the last look —
// probeable: cpu throttled at its quota, io or net at 95% of its limit — is
// probed into the room left (probeDemand) and lent what the probe measured
// (lend, with no series gate: it wants the room now), until the next plan.
// The simulator models it (sim/tick.go), served from 1 −
// bidrule.LendReaction of the epoch. A service a look probed is probed
// again at the next epoch step (c.looked, epoch.go): its interval, partly
// served by the lend, is neither its demand nor held at the limit in
// force; bid as measured, it had asked for the whole node (kerneltest/DESIGN.md).

// looks reports whether the node loop looks between epoch steps: not when
// lending is off, under the static policy, with nothing measured, or before
// the epoch length is known.
func (c *Client) looks() bool {
	return !c.cfg.NoLend && c.cfg.Policy != baseline.Static && c.cfg.Measure != nil && bidrule.LendEvery(c.settings.interval) > 0
}

// nextLook is when the node loop looks next (nil: never, see looks).
func (c *Client) nextLook() <-chan time.Time {
	if !c.looks() {
		return nil
	}
	return time.After(bidrule.LendEvery(c.settings.interval))
}

// look is one look between epoch steps (above).
func (c *Client) look(ctx context.Context) {
	if c.prev == nil {
		return
	}
	p := *c.prev
	svcs := c.snapshot()
	now := c.now()
	inForce := withLent(c.mine(p), c.lent)
	var wants []probeWant
	for _, d := range svcs {
		a, ok := inForce[d.Def.Name]
		if _, replayed := d.rt.(Replayer); replayed || !ok {
			continue
		}
		u := c.readLook(d, now)
		if a.CPU > 0 && u.CPULimit > 0 {
			u.CPULimit = a.CPU
		}
		if rs := probeable(u, a, nil); len(rs) > 0 {
			wants = append(wants, probeWant{d: d, res: rs, u: u})
		}
	}
	probes := c.probeDemand(ctx, p, wants)
	if len(probes) == 0 {
		return
	}
	for name, prs := range probes {
		for r := range prs {
			if !slices.Contains(c.looked[name], r) {
				c.looked[name] = append(c.looked[name], r)
			}
		}
	}
	seen := make([]map[bidding.Resource]float64, len(svcs))
	for i, d := range svcs {
		seen[i] = map[bidding.Resource]float64{}
		for r, pr := range probes[d.Def.Name] {
			seen[i][r] = pr.value
		}
	}
	c.lend(ctx, p, svcs, seen, "look", bidrule.LookWant, nil)
}

// readLook is a service's usage since the last look (or the last epoch
// step): readAs under the looks' own keys.
func (c *Client) readLook(d discovered, now time.Time) usage.Usage { return c.readAs("look", d, now) }

// readAs is a service's usage, summed over its instances' cgroups and
// interfaces, since the last read under the same purpose (the probe's
// window, the looks; the epoch step keeps its own keys, measure): each
// purpose has its own counter keys, so none cuts another's interval
// short. An instance read for the first time, or whose read failed, adds
// nothing.
func (c *Client) readAs(purpose string, d discovered, now time.Time) usage.Usage {
	var parts []usage.Usage
	for _, in := range d.Instances {
		if in.Cgroup == "" && in.Interface == "" {
			continue
		}
		if u, err := c.cfg.Measure.ReadCgroup(purpose+"\x00"+instanceKey(d.Def.Name, in), in.Cgroup, in.Interface, now); err == nil {
			parts = append(parts, u)
		}
	}
	return usage.Sum(parts...)
}

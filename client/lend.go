package client

import (
	"context"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
)

// lendRoom lends the room plan p leaves on this node — its capacity less
// the plan's allocations, in cpu, io and net — to the services measured
// over the interval just ended well above their allocation
// (bidrule.LendWant: a burst starting, a level that moved), shared by
// water-filling (bidrule.Lend), never above a service's max, and only on a
// series whose jumps have lasted (bidrule.Burst: a spike gone the next
// epoch makes a lend slack). A plan is solved from bids made two epochs
// before it runs; a lend answers within one, from capacity nobody was
// allocated, and lasts until the next plan is enforced (each epoch step
// lends afresh from its own measurements; tick.go lends more within the
// epoch).
// seen is what each service was measured at per resource: its usage, or
// what a demand probe found; a resource the kernel held back and no probe
// measured is absent. A zero limit is no limit: nothing to lend on top.
// c.lent records the lends made, which the next step counts as in force.
// Off with client.lend_room = false (Config.NoLend), and under the static
// policy.
func (c *Client) lendRoom(ctx context.Context, p bidding.Plan, svcs []discovered, seen []map[bidding.Resource]float64) {
	c.lend(ctx, p, svcs, seen, "epoch step", bidrule.LendWant, func(d discovered, r bidding.Resource, v float64, ok bool, x float64) bool {
		b := c.bursts[d.Def.Name]
		if b == nil {
			b = &[bidding.NumResources]bidrule.Burst{}
			c.bursts[d.Def.Name] = b
		}
		return b[r].Step(v, ok, x > 0, d.Def.EffectiveWeight())
	})
}

// lend lends the room left on this node under plan p — its capacity less
// the plan's allocations and what is lent already (c.lent) — to the
// services seen well above their limit in force (the plan's allocation and
// their lend): want of what they were seen at (bidrule.LendWant for the
// epoch step's measure, bidrule.LookWant for a look's probe), where gate
// (nil: none) lets it, shared by bidrule.Lend, added to c.lent and applied; by
// (the epoch step, a look) is logged with each lend.
func (c *Client) lend(ctx context.Context, p bidding.Plan, svcs []discovered, seen []map[bidding.Resource]float64, by string,
	want func(seen, alloc, max float64) float64, gate func(d discovered, r bidding.Resource, v float64, ok bool, want float64) bool) {
	if c.cfg.NoLend || c.cfg.Policy == baseline.Static {
		return
	}
	mine := c.mine(p)
	inForce := withLent(mine, c.lent)
	room := c.roomLeft(p)
	ups := map[string]bidding.Allocation{}
	adds := map[string]bidding.Vec{}
	for _, r := range bidrule.Lendable() {
		var who []int
		var wants []float64
		for i, d := range svcs {
			v, ok := seen[i][r]
			a, in := inForce[d.Def.Name]
			planned := mine[d.Def.Name]
			x := 0.0
			if ok && in && planned.Get(r) > 0 {
				x = want(v, float64(a.Get(r)), float64(d.Def.Max[r]))
			}
			if (gate == nil || gate(d, r, v, ok, x)) && x > 0 {
				who, wants = append(who, i), append(wants, x)
			}
		}
		for k, g := range bidrule.Lend(wants, float64(room[r])) {
			if g == 0 {
				continue
			}
			name := svcs[who[k]].Def.Name
			up, ok := ups[name]
			if !ok {
				up = inForce[name]
			}
			up.Set(r, up.Get(r)+g)
			ups[name] = up
			add := adds[name]
			add[r] = g
			adds[name] = add
		}
	}
	for i, d := range svcs {
		up, ok := ups[d.Def.Name]
		if !ok {
			continue
		}
		if err := d.rt.Apply(ctx, []bidding.Allocation{up}); err != nil {
			c.log.Warn("lending room: could not raise the limits", "service", d.Def.Name, "error", err)
			continue // its limits stand where they were: in force before, as c.lent says
		}
		l := c.lent[d.Def.Name]
		for r, g := range adds[d.Def.Name] {
			l[r] += g
		}
		c.lent[d.Def.Name] = l
		planned := mine[d.Def.Name]
		for r, g := range adds[d.Def.Name] {
			if g > 0 {
				c.log.Debug("lent room", "by", by, "service", d.Def.Name, "resource", bidding.Resource(r), "plan", planned.Get(bidding.Resource(r)),
					"lent_to", up.Get(bidding.Resource(r)), "measured", int64(seen[i][bidding.Resource(r)]))
			}
		}
	}
}

// withLent is this node's allocations with what is lent on top: the limits
// in force.
func withLent(mine map[string]bidding.Allocation, lent map[string]bidding.Vec) map[string]bidding.Allocation {
	out := make(map[string]bidding.Allocation, len(mine))
	for name, a := range mine {
		for r, g := range lent[name] {
			a.Set(bidding.Resource(r), a.Get(bidding.Resource(r))+g)
		}
		out[name] = a
	}
	return out
}

// roomLeft is the room plan p leaves on this node less what is lent.
func (c *Client) roomLeft(p bidding.Plan) bidding.Vec {
	room := nodeRoom(p, c.cfg.Node)
	for _, l := range c.lent {
		for r := range room {
			room[r] -= l[r]
		}
	}
	for r := range room {
		room[r] = max(room[r], 0)
	}
	return room
}

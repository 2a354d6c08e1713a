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
// lends afresh from its own measurements).
// seen is what each service was measured at per resource: its usage, or
// what a demand probe found; a resource the kernel held back and no probe
// measured is absent. A zero limit is no limit: nothing to lend on top.
// c.lent records the lends made, which the next step counts as in force.
// Off with client.lend_room = false (Config.NoLend), and under the static
// policy.
func (c *Client) lendRoom(ctx context.Context, p bidding.Plan, svcs []discovered, seen []map[bidding.Resource]float64) {
	clear(c.lent)
	if c.cfg.NoLend || c.cfg.Policy == baseline.Static {
		return
	}
	mine := c.mine(p)
	room := nodeRoom(p, c.cfg.Node)
	ups := map[string]bidding.Allocation{}
	for _, r := range bidrule.Lendable() {
		var who []int
		var wants []float64
		for i, d := range svcs {
			v, ok := seen[i][r]
			a, in := mine[d.Def.Name]
			x := 0.0
			if ok && in && a.Get(r) > 0 {
				x = bidrule.LendWant(v, float64(a.Get(r)), float64(d.Def.Max[r]))
			}
			b := c.bursts[d.Def.Name]
			if b == nil {
				b = &[bidding.NumResources]bidrule.Burst{}
				c.bursts[d.Def.Name] = b
			}
			if b[r].Step(v, ok, x > 0, d.Def.EffectiveWeight()) && x > 0 {
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
				up = mine[name]
			}
			up.Set(r, up.Get(r)+g)
			ups[name] = up
			l := c.lent[name]
			l[r] = g
			c.lent[name] = l
		}
	}
	for i, d := range svcs {
		up, ok := ups[d.Def.Name]
		if !ok {
			continue
		}
		if err := d.rt.Apply(ctx, []bidding.Allocation{up}); err != nil {
			c.log.Warn("lending room: could not raise the limits", "service", d.Def.Name, "error", err)
			delete(c.lent, d.Def.Name)
			continue
		}
		plan := mine[d.Def.Name]
		for _, r := range bidrule.Lendable() {
			if g := c.lent[d.Def.Name][r]; g > 0 {
				c.log.Debug("lent room", "service", d.Def.Name, "resource", r, "plan", plan.Get(r), "lent_to", up.Get(r), "measured", int64(seen[i][r]))
			}
		}
	}
}

package sim

import (
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
)

// lend adds to plan k's allocations (out) what the simulated client lends
// as the real one does (client/lend.go): each node's room under the plan —
// its capacity less the plan's allocations — shared among the services it
// measured over epoch k−1 well above their plan (bidrule.LendWant,
// bidrule.Lend), on a series whose jumps have lasted (bidrule.Burst). A zero allocation is lent to as well: on a real node it
// is no limit at all, so the service would get what it wants there, while
// the replay serves nothing under it.
func (p *allotPolicy) lend(k int, out [][nr]int64) {
	j := k - 1
	if j < 0 || j >= len(p.e.alloc) {
		return
	}
	w := p.e.w
	if p.bursts == nil {
		p.bursts = make([][nr]bidrule.Burst, len(w.Svcs))
	}
	p.lendRoom(out, 1, nil, func(s, r int, a float64) float64 {
		seen, ok := p.measured(j, s, r)
		if r == int(bidding.CPU) {
			seen /= cfsEfficiency // the quota that lets it through
		}
		x := 0.0
		if ok {
			x = bidrule.LendWant(seen, a, float64(w.Svcs[s].Def.Max[r]))
		}
		if !p.bursts[s][r].Step(seen, ok, x > 0, w.Svcs[s].Def.EffectiveWeight()) {
			return 0
		}
		return x
	})
}

// lendRoom shares each node's room in each lendable resource — its
// capacity less out's allocations — among the services by what want asks
// for each (service, resource, allocation in out) by water-filling, and
// adds frac of each grant to out; nothing where the room is less than
// least(node, resource) per service that wants it (least nil: no least).
func (p *allotPolicy) lendRoom(out [][nr]int64, frac float64, least func(n, r int) float64, want func(s, r int, a float64) float64) {
	w := p.e.w
	for n := range p.e.nodes {
		for _, res := range bidrule.Lendable() {
			r := int(res)
			var ids []int
			var wants []float64
			used := 0.0
			for s, sv := range w.Svcs {
				if sv.Node != n || !sv.Has[r] {
					continue
				}
				a := float64(out[s][r])
				used += a
				if x := want(s, r, a); x > 0 {
					ids, wants = append(ids, s), append(wants, x)
				}
			}
			room := float64(p.e.eff[n][r]) - used
			if least != nil && room < least(n, r)*float64(len(wants)) {
				continue
			}
			for i, g := range bidrule.Lend(wants, room) {
				out[ids[i]][r] += int64(frac * float64(g))
			}
		}
	}
}

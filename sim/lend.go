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
				seen, ok := p.measured(j, s, r)
				if r == int(bidding.CPU) {
					seen /= cfsEfficiency // the quota that lets it through
				}
				x := 0.0
				if ok {
					x = bidrule.LendWant(seen, a, float64(sv.Def.Max[r]))
				}
				if p.bursts[s][r].Step(seen, ok, x > 0, sv.Def.EffectiveWeight()) && x > 0 {
					ids, wants = append(ids, s), append(wants, x)
				}
			}
			for i, g := range bidrule.Lend(wants, float64(p.e.eff[n][r])-used) {
				out[ids[i]][r] += g
			}
		}
	}
}

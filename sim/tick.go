package sim

import (
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
)

// withinEpoch adds to epoch k's allocations (alloc: the plan and what the
// epoch step lent) what the simulated client lends within the epoch, as
// the real one does between epoch steps (client/tick.go): the room left on
// each node shared among the services whose demand now is well above their
// limit (bidrule.LendWant against it, bidrule.Lend; the real client finds
// that demand with a probe, so only where the room is worth one:
// leastProbeRoom per service), with no series gate. A trace step is one
// level, so the lend serves it from the moment the client reacts: it is
// counted for 1 − bidrule.LendReaction of the epoch (about 2.5% of a
// 5-minute epoch), as a limit in force for that share of it.
func (p *allotPolicy) withinEpoch(k int, alloc [][nr]int64, demand [][nr]float64) {
	if p.cfg.oracle {
		return
	}
	w := p.e.w
	p.lendRoom(alloc, 1-bidrule.LendReaction(w.clientEpoch()), p.leastProbeRoom, func(s, r int, a float64) float64 {
		d := demand[s][r]
		if r == int(bidding.CPU) {
			d /= cfsEfficiency // the quota that lets it through
		}
		return bidrule.LookWant(d, a, float64(w.Svcs[s].Def.Max[r]))
	})
}

package sim

import (
	"math"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
)

// The client's demand probes (client/probe.go), as the simulated client
// runs them after epoch j: where the plan in force left a node room, a
// service its limit held back has that limit lifted by an even share of
// the room for a moment and its usage read there. The probe takes a few
// seconds of the epoch; the replay does not serve the lifted share.

// room is the unallocated capacity of node n in resource r under epoch j's
// allocations, and how many of its services were at their limit there
// (at: demand d under allocation a).
func (p *allotPolicy) room(j, n, r int, at func(d, a float64) bool) (room float64, pressed int) {
	w := p.e.w
	used := 0.0
	for i, sv := range w.Svcs {
		if sv.Node != n || !sv.Has[r] {
			continue
		}
		a := float64(p.e.alloc[j][i][r])
		used += a
		if at(sv.Demand[r][w.Warmup+j], a) {
			pressed++
		}
	}
	return float64(p.e.eff[n][r]) - used, pressed
}

// probed reports whether service s's client could probe its cpu demand
// after epoch j: its node left at least bidrule.MinCPUProbeRoom unallocated per
// service pressed there.
func (p *allotPolicy) probed(j, s int) bool {
	cpu := int(bidding.CPU)
	n := p.e.w.Svcs[s].Node
	room, pressed := p.room(j, n, cpu, func(d, a float64) bool { return read(cpu, d, a).Pressed })
	return pressed > 0 && room >= p.leastProbeRoom(n, cpu)*float64(pressed)
}

// ioNetProbe is what service s's client measures of io or net (r) after
// epoch j when its usage there sat at its limit (atLimit of a positive
// allocation: the kernel says nothing more) and its node left at least
// bidrule.MinIONetProbeRoom of its capacity per service at its limit: v, the usage
// under the limit lifted by an even share of the room, and held, still at
// that lifted limit (the demand is higher still). ok is false where no
// probe ran: another resource, not at its limit, or no room.
func (p *allotPolicy) ioNetProbe(j, s, r int) (v float64, held, ok bool) {
	if r != int(bidding.IO) && r != int(bidding.Net) || j < 0 || j >= len(p.e.alloc) {
		return 0, false, false
	}
	w := p.e.w
	sv := w.Svcs[s]
	a, d := float64(p.e.alloc[j][s][r]), sv.Demand[r][w.Warmup+j]
	if !atLimit(d, a) {
		return 0, false, false
	}
	room, pressed := p.room(j, sv.Node, r, atLimit)
	share := room / float64(pressed)
	if share < p.leastProbeRoom(sv.Node, r) {
		return 0, false, false
	}
	lifted := a + share
	v = math.Min(d, lifted)
	return v, atLimit(v, lifted), true
}

// sees is what service s's client forecaster observes of resource r over
// epoch j, false when nothing: what the client measured (measured) of io
// and net always, and of cpu and memory under ObserveClient; else the usage.
func (p *allotPolicy) sees(j, s, r int) (float64, bool) {
	if p.e.obs == ObserveClient || r == int(bidding.IO) || r == int(bidding.Net) {
		return p.measured(j, s, r)
	}
	return p.e.reading(s, r, p.e.w.Warmup+j).Usage, true
}

// measured is what service s's client measures of resource r over epoch j
// (client/epoch.go), false when nothing: a probed io or net demand, else
// the usage; cpu and memory at the demand unless the kernel held them back
// and no probe measured it (censored).
func (p *allotPolicy) measured(j, s, r int) (float64, bool) {
	i := p.e.w.Warmup + j
	rd := p.e.reading(s, r, i)
	if v, _, ok := p.ioNetProbe(j, s, r); ok {
		return max(rd.Usage, v), true
	}
	if r == int(bidding.IO) || r == int(bidding.Net) {
		return rd.Usage, true
	}
	if rd.Pressed && !(r == int(bidding.CPU) && p.probed(j, s)) {
		return 0, false
	}
	return p.e.w.Svcs[s].Demand[r][i], true
}

// leastProbeRoom is the least room per service at its limit worth a probe on
// node n in resource r, as the client's (bidrule.MinProbeRoom).
func (p *allotPolicy) leastProbeRoom(n, r int) float64 {
	return bidrule.MinProbeRoom(bidding.Resource(r), float64(p.e.eff[n][r]))
}

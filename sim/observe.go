package sim

import (
	"math"

	"github.com/allot-dev/allot/bidding"
)

// reading is what a controller running beside the kernel measures of one
// resource of one service over an epoch in which the service wanted demand
// d under allocation a. It is the one rule every simulated controller goes
// by (the Allot client, reactive, reactive-lag, VPA-like): only the oracle
// reads the demand itself.
type reading struct {
	// Usage is what the kernel let through: the demand up to the limit
	// (cpu up to cfsEfficiency of its quota; capped). A zero allocation is
	// no limit on a real node (enforce writes cpu.max, memory.max and
	// io.max "max" and removes tc's qdisc), so there the usage is the
	// demand — although the replay, which counts an allocation as what a
	// service may use, serves it nothing.
	Usage float64
	// Pressed: the kernel says it held the service back, so the demand is
	// above Usage — cpu throttled at its quota (atLimit), memory over its
	// limit (an OOM kill, failcnt). io and net never: blkio and tc cap
	// the usage and give no sign of the demand they held back
	// (client/demand.go). A zero allocation never reads as pressed.
	Pressed bool
}

// read is the reading of resource r of a service that wanted d under
// allocation a.
func read(r int, d, a float64) reading {
	if a <= 0 {
		return reading{Usage: d}
	}
	rd := reading{Usage: capped(r, d, a)}
	switch r {
	case int(bidding.CPU):
		rd.Pressed = atLimit(d, a)
	case int(bidding.Memory):
		rd.Pressed = d > a
	}
	return rd
}

// capped is what the replay serves of demand d of resource r under
// allocation a (before an OOM kill's loss): the demand up to the
// allocation, cpu up to cfsEfficiency of it.
func capped(r int, d, a float64) float64 {
	if r == int(bidding.CPU) {
		a *= cfsEfficiency
	}
	return math.Min(d, a)
}

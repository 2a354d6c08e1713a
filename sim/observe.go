package sim

import (
	"math"

	"github.com/allot-dev/allot/bidding"
)

// reading is what a controller running beside the kernel measures of one
// resource of one service over an epoch in which the service wanted demand
// d under allocation a. It is the one rule every simulated controller goes
// by (the Allot client, reactive, reactive-lag, VPA-like), and what the
// replay serves (oomKilled): only the oracle reads the demand itself.
type reading struct {
	// Usage is what the kernel let through: the demand up to the limit
	// (cpu up to cfsEfficiency of its quota). Before an OOM kill's loss.
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
	limit := a
	if r == int(bidding.CPU) {
		limit *= cfsEfficiency
	}
	rd := reading{Usage: math.Min(d, limit)}
	switch r {
	case int(bidding.CPU):
		rd.Pressed = atLimit(d, a)
	case int(bidding.Memory):
		rd.Pressed = a > 0 && d > a
	}
	return rd
}

package bidrule

import (
	"cmp"
	"math"
	"slices"

	"github.com/allot-dev/allot/bidding"
)

// Lending (client/lend.go, modelled by sim/lend.go): a plan is solved from
// bids made Lag epochs before it runs, so a service whose demand jumps
// (a burst starting, a level shift) is held at its old share for two
// epochs while capacity its node's plan left unallocated sits idle. The
// node client lends that room, for one epoch, to the services it measured
// well above their allocation: what it measured, LendMargin above, on top
// of the plan, never above a service's max, shared by water-filling when
// the room is short. The plan is untouched (the room is the plan's
// unallocated capacity, so nobody's share shrinks), and the next plan
// replaces the lend: it is made afresh from each epoch's measurements.
// Compressible resources only (cpu, io, net): memory lent and then taken
// back would be reclaimed or OOM-killed.
const (
	// LendJump: a service is lent room only when what it needs (what it
	// used or a probe measured, LendMargin above) is more than this
	// fraction above its allocation; usage noise around a calibrated bid
	// stays below it.
	LendJump = 0.5
	// LendMargin: how far above what it was measured at a service is lent.
	LendMargin = 0.15
)

// Lendable are the resources room is lent in.
func Lendable() []bidding.Resource {
	return []bidding.Resource{bidding.CPU, bidding.IO, bidding.Net}
}

// LendWant is how much room the epoch step lends a service measured at
// seen (base units, over the epoch just ended) under allocation alloc,
// capped at max (0: none): 0 unless seen × (1+LendMargin) is more than
// LendJump above the allocation.
func LendWant(seen, alloc, max float64) float64 {
	return want(seen, alloc, max, LendJump, LendMargin)
}

// A look (tick.go) lends on a probe's reading, not on an epoch's measure:
// the probe lifted the limit and read the demand itself, so there is no
// usage noise to stay above, and the next look, seconds later, lends more
// if the demand grows. It lends what the probe read, ProbedMargin above
// (the probe reads a little high), where that is more than LookJump above
// the limit in force. (1+LookJump)/(1+ProbedMargin) is above AtLimit: what
// is lent to was held at its limit, so the probe's rule would have found
// it (the simulator, which knows the demand, needs no other gate).
const LookJump = 0.1

// LookWant is how much room a look lends a service whose probe read seen
// under the limit in force alloc, capped at max (0: none).
func LookWant(seen, alloc, max float64) float64 {
	return want(seen, alloc, max, LookJump, ProbedMargin)
}

func want(seen, alloc, max, jump, margin float64) float64 {
	need := math.Round(seen * (1 + margin)) // whole units, not a float's 229.99…
	if max > 0 {
		need = math.Min(need, max)
	}
	if need <= (1+jump)*alloc || need-alloc < 1 {
		return 0
	}
	return need - alloc
}

// Lend shares room among wants by water-filling — every want met when
// they fit, else the smallest met first and the rest sharing evenly what
// is left — and returns the grants in the wants' order, in whole units.
func Lend(wants []float64, room float64) []int64 {
	out := make([]int64, len(wants))
	ids := make([]int, 0, len(wants))
	for i, w := range wants {
		if w > 0 {
			ids = append(ids, i)
		}
	}
	slices.SortStableFunc(ids, func(a, b int) int { return cmp.Compare(wants[a], wants[b]) })
	for n, i := range ids {
		g := math.Floor(math.Min(wants[i], room/float64(len(ids)-n)))
		if g <= 0 {
			continue
		}
		out[i] = int64(g)
		room -= g
	}
	return out
}

// A spike that is gone the next epoch makes a lend slack, a burst that
// lasts makes it served demand; which a series has is learnt per service
// and resource (Burst). A lend is made when the chance p that the jump lasts
// pays for it at the service's weight w: a lent unit used serves w, one
// unused is a unit of slack, so p·w ≥ 1−p, p ≥ 1/(1+w) — a critical
// service (8) is lent to on a 1-in-9 chance, a batch one (1) on even odds.
const (
	// BurstHeld: a jump lasted when the next epoch's measure is at least
	// this fraction of it.
	BurstHeld = 0.5
	// burstDecay weights the jumps seen: about the last ten count.
	burstDecay = 0.9
)

// Burst learns whether one series' jumps last (the zero value knows
// nothing yet, and lends).
type Burst struct {
	n, held float64 // decayed counts of jumps followed by a measure, and of those that lasted
	last    float64 // the jump measured at the last step (0: none)
}

// Step is one epoch step's measure of the series (ok false: nothing was
// measured, as a resource the kernel held back unprobed), and whether it
// is a jump (a lend is wanted); it settles whether the last step's jump
// lasted, and reports whether a lend on this jump is worth making for a
// service of weight w: the chance the jumps seen have lasted, counting a
// prior of one of each (a series not seen jump yet is at even odds), is
// at least 1/(1+w).
func (b *Burst) Step(seen float64, ok, jump bool, w float64) bool {
	if b.last > 0 && ok {
		b.n = burstDecay*b.n + 1
		b.held *= burstDecay
		if seen >= BurstHeld*b.last {
			b.held++
		}
	}
	b.last = 0
	if jump && ok {
		b.last = seen
	}
	return (b.held+1)/(b.n+2) >= 1/(1+w)
}

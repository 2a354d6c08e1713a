// Package baseline holds the sizing rules Allot is compared with, so that
// the simulator (`allot sim`) and a node client running them for real
// (`client { policy = "static" }`, the live experiment) apply one rule, not
// two copies that drift.
package baseline

import (
	"math"
	"slices"

	"github.com/allot-dev/allot/bidding"
)

// Policy names a node client can enforce instead of the plan's allocations.
const (
	Allot  = "allot"  // the committed plan (the default)
	Static = "static" // fixed limits from the history, as sized by hand
)

// Policies lists the policies a client accepts, default first.
func Policies() []string { return []string{Allot, Static} }

// StaticQuantile is where an operator sizing by hand puts a limit: the 95th
// percentile of the usage history.
const StaticQuantile = 0.95

// StaticLevel is the limit an operator would set by hand from a usage
// history: its StaticQuantile (0 for an empty history).
func StaticLevel(history []float64) float64 { return Quantile(history, StaticQuantile) }

// Quantile is the q-quantile of v by linear interpolation between order
// statistics (v is not modified; 0 for an empty v).
func Quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Fit scales requests that share one node down in proportion, per
// resource, where their sum exceeds the node's capacity (none of the
// baselines carries a priority); a capacity of 0 means unknown and leaves
// that resource as asked. Negative requests count as 0; results are rounded
// down to whole units.
func Fit(req [][bidding.NumResources]float64, capacity [bidding.NumResources]float64) []bidding.Vec {
	var sum [bidding.NumResources]float64
	for _, q := range req {
		for r := range bidding.NumResources {
			sum[r] += math.Max(0, q[r])
		}
	}
	out := make([]bidding.Vec, len(req))
	for i, q := range req {
		for r := range bidding.NumResources {
			x := math.Max(0, q[r])
			if c := capacity[r]; c > 0 && sum[r] > c {
				x *= c / sum[r]
			}
			out[i][r] = int64(math.Floor(math.Min(x, float64(bidding.MaxQuantity))))
		}
	}
	return out
}

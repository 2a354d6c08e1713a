package bidding

import "math"

// NumSegments is the number of utility pieces above a floor: up to p50,
// p50→p90, p90→p99, p99→max.
const NumSegments = 4

var segmentNames = [NumSegments]string{"p50", "p90", "p99", "max"}

// segmentProb is the probability that a unit in each segment is used: the
// mean of P(demand ≥ x) over the segment, read off the quantiles (1→0.5,
// 0.5→0.1, 0.1→0.01, 0.01→0). Strictly decreasing, so utility is concave.
var segmentProb = [NumSegments]float64{0.75, 0.3, 0.055, 0.005}

// resourcePenalty is the cost of a shortfall per resource: a memory
// shortfall kills (OOM), a cpu shortfall only throttles.
var resourcePenalty = [NumResources]float64{CPU: 1, Memory: 2, IO: 1, Net: 1}

// resourceUnit converts base units to the units values are quoted in:
// cores, GiB, MiB/s and Mbit/s.
var resourceUnit = [NumResources]float64{CPU: 1000, Memory: 1 << 30, IO: 1 << 20, Net: 1e6}

// resourceScale is penalty/unit: the value of one base unit at weight 1, probability 1.
var resourceScale = func() (s [NumResources]float64) {
	for r := range NumResources {
		s[r] = resourcePenalty[r] / resourceUnit[r]
	}
	return s
}()

// segmentKey orders segments across services and resources: the value per
// base unit of segment k at weight w is segmentKey(w,k)·resourceScale[r].
func segmentKey(w float64, k int) float64 { return float64(w * segmentProb[k]) }

// segmentValue is the utility of one base unit of resource r in segment k at weight w.
func segmentValue(w float64, k int, r Resource) float64 {
	return float64(segmentKey(w, k) * resourceScale[r])
}

// segmentWidths returns how many units of each segment lie in (floor, hi]:
// the segments end at p50, p90, p99 and hi.
func segmentWidths(q Quantiles, floor, hi int64) (w [NumSegments]int64) {
	ends := [NumSegments]int64{q.P50, q.P90, q.P99, hi}
	start := int64(0)
	for k, end := range ends {
		end = min(max(end, start), hi)
		lo := max(start, floor)
		if end > lo {
			w[k] = end - lo
		}
		start = end
	}
	return w
}

// Segments converts a bid's quantiles for resource r into the concave
// utility pieces above floor, up to hi (the most the placement may get),
// at the given weight. Pieces of zero width are left out. Invalid input
// (negative or non-finite weight, unknown resource) gives no segments.
func Segments(q Quantiles, floor, hi int64, weight float64, r Resource) []Segment {
	if r < 0 || int(r) >= NumResources || math.IsNaN(weight) || math.IsInf(weight, 0) || weight < 0 {
		return nil
	}
	widths := segmentWidths(q, floor, hi)
	var out []Segment
	for k, w := range widths {
		if w > 0 {
			out = append(out, Segment{Name: segmentNames[k], Width: w, Value: segmentValue(weight, k, r)})
		}
	}
	return out
}

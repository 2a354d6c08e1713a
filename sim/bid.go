package sim

import (
	"math"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

// toQuantiles converts a forecast into a bid's quantiles exactly as the
// client does (demo.toQuantiles): rounded to base units, negatives and NaN
// to zero, made non-decreasing.
func toQuantiles(q forecast.Quantiles) bidding.Quantiles {
	r := func(v float64) int64 {
		if math.IsNaN(v) || v < 0 {
			return 0
		}
		return int64(math.Round(math.Min(v, float64(bidding.MaxQuantity))))
	}
	p50, p90, p99 := r(q.P50), r(q.P90), r(q.P99)
	p90 = max(p90, p50)
	p99 = max(p99, p90)
	return bidding.Quantiles{P50: p50, P90: p90, P99: p99}
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, 1)
}

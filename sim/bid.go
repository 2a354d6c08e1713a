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

// memoryBid pads a memory bid: usage above a memory allocation is an OOM
// kill, not a throttle. The solver's deadband keeps a previous allocation
// up to Deadband below the new grant, so the quantiles are raised by that
// fraction (a kept allocation then still covers the forecast p99), and a max
// one more p90→p99 spread above p99 asks for spare capacity (the utility
// segment of least value, granted only where nobody else wants it).
func (p *allotPolicy) memoryBid(q bidding.Quantiles) bidding.Quantiles {
	pad := func(v int64) int64 { return int64(math.Ceil(float64(v) * (1 + p.opts.Deadband))) }
	q.P50, q.P90, q.P99 = pad(q.P50), pad(q.P90), pad(q.P99)
	q.Max = q.P99 + (q.P99 - q.P90)
	return q
}

// throttleBid sets how far up the forecast distribution a throttled
// resource (cpu, io, net: a shortfall slows the service, it does not kill
// it) bids, by class: critical services up to p99, standard up to p95,
// batch up to p90. The solver grants at most the bid's p99, so the top is
// moved down to the class's quantile (p95 interpolated between p90 and p99
// as for a normal distribution).
func throttleBid(q bidding.Quantiles, c bidding.Class) bidding.Quantiles {
	switch c {
	case bidding.ClassCritical:
	case bidding.ClassBatch:
		q.P99 = q.P90
	default:
		q.P99 = q.P90 + int64(p95Between*float64(q.P99-q.P90))
	}
	return q
}

// p95Between places p95 between p90 and p99 as in a normal distribution:
// (1.645−1.282)/(2.326−1.282).
const p95Between = 0.348

// surgeBid is a boosted service's bid: the SLA probe has just seen it
// starved, so the forecast (which lags a surge) is floored at the last
// measured demand, and the top at that demand plus the reactive margin.
func surgeBid(q bidding.Quantiles, last float64) bidding.Quantiles {
	l := int64(math.Ceil(last))
	q.P90 = max(q.P90, l)
	q.P99 = max(q.P99, int64(math.Ceil(last*(1+reactiveMargin))))
	return q
}

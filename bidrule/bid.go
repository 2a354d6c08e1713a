// Package bidrule holds the client side of the feedback loop that both the
// node agent and the simulator run: how a forecast becomes a bid. Keeping it
// in one place is what lets `allot sim` claim it replays the agent's own
// bidding rather than a copy of it.
package bidrule

import (
	"math"
	"slices"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

// BidQuantiles converts a forecast into a bid's quantiles: rounded to base
// units, negatives and NaN to zero, capped at bidding.MaxQuantity, and made
// non-decreasing.
func BidQuantiles(q forecast.Quantiles) bidding.Quantiles {
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

// ForecastError reports a forecaster's running error in a bid, with
// non-finite or out-of-range values replaced so the bid always validates.
func ForecastError(m forecast.ErrorMetrics) bidding.ForecastError {
	return bidding.ForecastError{MASE: nonNegative(m.MASE), CoverageP90: unit(m.CoverageP90), CoverageP99: unit(m.CoverageP99)}
}

func nonNegative(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

func unit(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, 1)
}

// MemoryBid pads a memory bid: usage above a memory allocation is an OOM
// kill, not a throttle. The quantiles are raised by the solver's deadband
// fraction: once so that a previous allocation kept by the deadband still
// covered the forecast's top, now as the only cushion of a series forecast
// exactly (zero-width intervals: an epoch a hair above the forecast would
// be an OOM kill; measured in docs/BENCHMARKS.md, third pass). The top is
// the class's quantile (ClassTop), as for the throttled resources, and
// nothing is asked above it: the spare capacity a max one p90→p99 spread
// above p99 used to ask for was slack wherever the node had memory to give
// (docs/BENCHMARKS.md, "io and net probed, memory to the class quantile").
func MemoryBid(q bidding.Quantiles, deadband float64) bidding.Quantiles {
	pad := func(v int64) int64 { return min(int64(math.Ceil(float64(v)*(1+deadband))), bidding.MaxQuantity) }
	q.P50, q.P90, q.P99 = pad(q.P50), pad(q.P90), pad(q.P99)
	q.Max = 0
	return q
}

// Lent says what a client gets above its reservation within the epoch:
// cpu, io and net lent by its looks (Looks: LooksServe at its epoch), and
// memory borrowed from the node where the kernel drivers enforce
// reservations (Memory: client.memory_borrow, enforce.Borrow).
type Lent struct{ Looks, Memory bool }

// covers says whether resource r is lent above its reservation.
func (l Lent) covers(r bidding.Resource) bool {
	if r == bidding.Memory {
		return l.Memory
	}
	return l.Looks && slices.Contains(Lendable(), r)
}

// ClassTop moves the top of a bid of resource r (its p99: the solver
// grants at most that) to what class c reserves of forecast f.
//   - what the client gets above its reservation within the epoch (lent):
//     cpu, io and net lent from its node's room within seconds (the looks,
//     tick.go), memory borrowed from what the node's other services do not
//     use: the plan reserves a critical service's p90 and a standard or
//     batch one's p50, and nothing above. Lends are water-filled without
//     regard to class, so what a critical service must have is reserved,
//     not lent; a borrower is the OOM killer's first choice in proportion to
//     how far above its reservation it is. Memory chosen on the tuning draws
//     (docs/BENCHMARKS.md, "The OOM decoy").
//   - memory where it is a hard limit (an OOM kill, not a throttle), and
//     every resource of a client that does not lend: critical p99,
//     standard the forecast's own calibrated p95 (within [p90, p99]: for
//     a spiky or intermittent series p95 may sit at p90 — a burst in fewer
//     than 5% of the steps — or near p99), batch p90; an OOM kill of a
//     batch job costs a restart, which padding it to p99 at every step cost
//     more than in slack.
func ClassTop(b bidding.Quantiles, f forecast.Quantiles, c bidding.Class, r bidding.Resource, lent Lent) bidding.Quantiles {
	if lent.covers(r) {
		top := b.P50
		if c == bidding.ClassCritical {
			top = b.P90
		}
		b.P90, b.P99 = top, top
		return b
	}
	switch c {
	case bidding.ClassCritical:
	case bidding.ClassBatch:
		b.P99 = b.P90
	default:
		p95 := BidQuantiles(forecast.Quantiles{P99: f.P95}).P99
		b.P99 = min(max(p95, b.P90), b.P99)
	}
	return b
}

// SurgeBid is a boosted service's bid: its SLA probe has just seen it
// starved, so the forecast (which lags a surge) is floored at the last
// measured demand, and the top at that demand plus margin.
func SurgeBid(q bidding.Quantiles, last, margin float64) bidding.Quantiles {
	l := int64(math.Ceil(last))
	q.P90 = max(q.P90, l)
	q.P99 = max(q.P99, int64(math.Ceil(last*(1+margin))))
	if q.Max > 0 { // a memory bid's max must stay at or above its p99, or the server drops the bid
		q.Max = max(q.Max, q.P99)
	}
	return q
}

// The client's demand probe (client/probe.go), which the simulator models
// (sim/probe.go): one set of thresholds for both.
const (
	// AtLimit: a usage at this fraction of a positive io or net limit or
	// more sits at that limit (io.max and tc cap silently), so a probe may
	// show more; under a probe's lifted limit, held there too (a lower
	// bound). The simulator reads cpu at its quota by the same fraction.
	AtLimit = 0.95
	// MinCPUProbeRoom is the least unallocated cpu (millicores) per
	// throttled service worth a probe, and the least lift of its quota.
	MinCPUProbeRoom = 100
	// MinIONetProbeRoom is, for io and net, the least unallocated capacity
	// per service at its limit worth a probe, and the least lift of its
	// limit, as a fraction of the node's capacity of that resource: a
	// smaller lift could not tell a demand from the limit in force.
	MinIONetProbeRoom = 0.02
	// ProbedMargin is how far above a probed demand its bid's top reaches:
	// little, because the probe itself reads a little high (a service let
	// go still catches up for a while: measured on this host, a 1.5-core
	// load read 1524–1580m after settling) and a service granted just short
	// of its demand is throttled, pressed and probed again the next epoch.
	ProbedMargin = 0.02
)

// MinProbeRoom is the least room per service, and the least lift, worth
// probing r on a node with capacity of it: MinCPUProbeRoom of cpu,
// MinIONetProbeRoom of the node's io or net.
func MinProbeRoom(r bidding.Resource, capacity float64) float64 {
	if r == bidding.CPU {
		return MinCPUProbeRoom
	}
	return MinIONetProbeRoom * capacity
}

// Surge floors a bid at a measured demand: the node client's when the
// kernel held the service back, the simulator's while a boost runs.
type Surge struct {
	Demand float64 // base units
	Margin float64 // the top reaches Demand×(1+Margin)
	// Exact: Demand was measured, not bounded (the client's demand probe),
	// so the bid is that demand — p50 and p90 at it, p99 a margin above —
	// rather than the forecast floored at it (a forecast that lags a surge
	// may also overshoot it).
	Exact bool
}

// ClientBid is the whole rule a client applies to one resource's forecast
// (the node client and allot sim both call it): every resource up to what
// its class reserves (ClassTop; lends: the client lends its node's room),
// memory padded by the deadband, and with surge set floored at the
// measured demand.
func ClientBid(r bidding.Resource, c bidding.Class, q forecast.Quantiles, deadband float64, lent Lent, surge *Surge) bidding.Quantiles {
	b := ClassTop(BidQuantiles(q), q, c, r, lent)
	if r == bidding.Memory {
		b = MemoryBid(b, deadband)
	}
	switch {
	case surge != nil && surge.Exact:
		d := BidQuantiles(forecast.Quantiles{P50: surge.Demand, P90: surge.Demand, P99: surge.Demand * (1 + surge.Margin)})
		b.P50, b.P90, b.P99 = d.P50, d.P90, d.P99 // no max to keep above p99: no bid here asks one
	case surge != nil:
		b = SurgeBid(b, surge.Demand, surge.Margin)
	}
	return b
}

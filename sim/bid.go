package sim

import (
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/forecast"
)

// The client's bidding rules live in package bidrule, shared with the node
// agent; these names keep the replay code short.

func toQuantiles(q forecast.Quantiles) bidding.Quantiles { return bidrule.BidQuantiles(q) }

func forecastError(m forecast.ErrorMetrics) bidding.ForecastError { return bidrule.ForecastError(m) }

func (p *allotPolicy) memoryBid(q bidding.Quantiles) bidding.Quantiles {
	return bidrule.MemoryBid(q, p.opts.Deadband)
}

func throttleBid(q bidding.Quantiles, c bidding.Class) bidding.Quantiles {
	return bidrule.ThrottleBid(q, c)
}

func surgeBid(q bidding.Quantiles, last float64) bidding.Quantiles {
	return bidrule.SurgeBid(q, last, reactiveMargin)
}

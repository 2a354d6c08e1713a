package sim

import (
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
	"github.com/allot-dev/allot/monitor"
)

// The client's bidding rules live in package monitor, shared with the node
// agent; these names keep the replay code short.

func toQuantiles(q forecast.Quantiles) bidding.Quantiles { return monitor.BidQuantiles(q) }

func forecastError(m forecast.ErrorMetrics) bidding.ForecastError { return monitor.ForecastError(m) }

func (p *allotPolicy) memoryBid(q bidding.Quantiles) bidding.Quantiles {
	return monitor.MemoryBid(q, p.opts.Deadband)
}

func throttleBid(q bidding.Quantiles, c bidding.Class) bidding.Quantiles {
	return monitor.ThrottleBid(q, c)
}

func surgeBid(q bidding.Quantiles, last float64) bidding.Quantiles {
	return monitor.SurgeBid(q, last, reactiveMargin)
}

package sim

import (
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/forecast"
)

// The client's bid rule is bidrule.ClientBid, called by the node client and
// by the Allot policy here (allot.go); these names keep the replay code short.

func toQuantiles(q forecast.Quantiles) bidding.Quantiles { return bidrule.BidQuantiles(q) }

func forecastError(m forecast.ErrorMetrics) bidding.ForecastError { return bidrule.ForecastError(m) }

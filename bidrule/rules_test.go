package bidrule

import (
	"math"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

func TestBidRules(t *testing.T) {
	q := bidding.Quantiles{P50: 1000, P90: 1500, P99: 2500}
	f := forecast.Quantiles{P50: 1000, P90: 1500, P95: 1800, P99: 2500}
	tests := []struct {
		name string
		got  bidding.Quantiles
		want bidding.Quantiles
	}{
		{"critical memory bids p99 (a hard limit)", ClassTop(q, f, bidding.ClassCritical, bidding.Memory, Lent{Looks: true}), q},
		{"borrowed: critical memory reserves p90", ClassTop(q, f, bidding.ClassCritical, bidding.Memory, Lent{Memory: true}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1500}},
		{"borrowed: standard memory reserves p50", ClassTop(q, f, bidding.ClassStandard, bidding.Memory, Lent{Looks: true, Memory: true}), bidding.Quantiles{P50: 1000, P90: 1000, P99: 1000}},
		{"borrowed memory lends no cpu: critical cpu bids p99", ClassTop(q, f, bidding.ClassCritical, bidding.CPU, Lent{Memory: true}), q},
		{"critical cpu reserves p90 (the rest is lent)", ClassTop(q, f, bidding.ClassCritical, bidding.CPU, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1500}},
		{"critical net reserves p90", ClassTop(q, f, bidding.ClassCritical, bidding.Net, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1500}},
		{"standard cpu reserves p50", ClassTop(q, f, bidding.ClassStandard, bidding.CPU, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1000, P99: 1000}},
		{"batch io reserves p50", ClassTop(q, f, bidding.ClassBatch, bidding.IO, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1000, P99: 1000}},
		{"a client that does not lend: critical cpu bids p99", ClassTop(q, f, bidding.ClassCritical, bidding.CPU, Lent{}), q},
		{"a client that does not lend: standard io bids p95", ClassTop(q, f, bidding.ClassStandard, bidding.IO, Lent{}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1800}},
		{"a client that does not lend: batch net bids p90", ClassTop(q, f, bidding.ClassBatch, bidding.Net, Lent{}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1500}},
		{"standard memory bids the forecast's p95", ClassTop(q, f, bidding.ClassStandard, bidding.Memory, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1800}},
		{"standard memory without a p95 bids p90", ClassTop(q, forecast.Quantiles{}, bidding.ClassStandard, bidding.Memory, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1500}},
		{"batch memory bids p90", ClassTop(q, f, bidding.ClassBatch, bidding.Memory, Lent{Looks: true}), bidding.Quantiles{P50: 1000, P90: 1500, P99: 1500}},
		{"surge floors at last demand", SurgeBid(q, 3000, 0.15), bidding.Quantiles{P50: 1000, P90: 3000, P99: 3450}},
		{"surge below forecast changes nothing", SurgeBid(q, 100, 0.15), q},
		{"memory padded by the deadband, nothing asked above p99", MemoryBid(bidding.Quantiles{P50: 1000, P90: 1500, P99: 2500, Max: 3500}, 0.02),
			bidding.Quantiles{P50: 1020, P90: 1530, P99: 2550}},
		{"client conversion", BidQuantiles(forecast.Quantiles{P50: 10.4, P90: 9, P99: math.NaN()}), bidding.Quantiles{P50: 10, P90: 10, P99: 10}},
		{"negative to zero", BidQuantiles(forecast.Quantiles{P50: -3, P90: 2, P99: 5}), bidding.Quantiles{P50: 0, P90: 2, P99: 5}},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, tc.got, tc.want)
		}
		b := bidding.Bid{Service: "s", Node: "n", Epoch: 1, Resources: map[string]bidding.Quantiles{"cpu": tc.got}}
		if err := b.Validate(); err != nil {
			t.Errorf("%s: the server would refuse the bid: %v", tc.name, err)
		}
	}
}

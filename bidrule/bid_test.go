package bidrule

import (
	"math"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

func TestClientBidsAlwaysValidate(t *testing.T) {
	cases := []struct {
		name string
		r    bidding.Resource
		c    bidding.Class
		q    forecast.Quantiles
		want bidding.Quantiles
	}{
		{"rounding and order", bidding.CPU, bidding.ClassCritical, forecast.Quantiles{P50: 10.4, P90: 9, P99: math.NaN()}, bidding.Quantiles{P50: 10, P90: 10, P99: 10}},
		{"negative to zero", bidding.CPU, bidding.ClassCritical, forecast.Quantiles{P50: -3, P90: 2, P95: 5, P99: 5}, bidding.Quantiles{P50: 0, P90: 2, P99: 2}},
		{"critical cpu at p90 (the rest is lent)", bidding.CPU, bidding.ClassCritical, forecast.Quantiles{P50: 1, P90: 2, P95: 4, P99: 9}, bidding.Quantiles{P50: 1, P90: 2, P99: 2}},
		{"batch cpu at p50", bidding.CPU, bidding.ClassBatch, forecast.Quantiles{P50: 1, P90: 2, P99: 9}, bidding.Quantiles{P50: 1, P90: 1, P99: 1}},
		{"standard net at p50", bidding.Net, bidding.ClassStandard, forecast.Quantiles{P50: 0, P90: 1000, P99: 2000, P95: 1100}, bidding.Quantiles{}},
		{"standard io of an intermittent series: nothing reserved", bidding.IO, bidding.ClassStandard, forecast.Quantiles{P50: 0, P90: 0, P99: 800, P95: 0}, bidding.Quantiles{}},
		{"standard memory p95 kept within p90..p99", bidding.Memory, bidding.ClassStandard, forecast.Quantiles{P50: 1, P90: 10, P99: 20, P95: 50}, bidding.Quantiles{P50: 2, P90: 11, P99: 21}},
		{"memory critical: p99, padded", bidding.Memory, bidding.ClassCritical, forecast.Quantiles{P50: 100, P90: 200, P95: 250, P99: 300}, bidding.Quantiles{P50: 102, P90: 204, P99: 306}},
		{"memory standard: p95, padded", bidding.Memory, bidding.ClassStandard, forecast.Quantiles{P50: 100, P90: 200, P95: 250, P99: 300}, bidding.Quantiles{P50: 102, P90: 204, P99: 255}},
		{"memory batch: p90, padded", bidding.Memory, bidding.ClassBatch, forecast.Quantiles{P50: 100, P90: 200, P95: 250, P99: 300}, bidding.Quantiles{P50: 102, P90: 204, P99: 204}},
		{"memory of a flat series: the pad is the cushion", bidding.Memory, bidding.ClassStandard, forecast.Quantiles{P50: 500, P90: 500, P95: 500, P99: 500}, bidding.Quantiles{P50: 510, P90: 510, P99: 510}},
		{"huge memory", bidding.Memory, bidding.ClassCritical, forecast.Quantiles{P50: 1e300, P90: 1e300, P99: 1e300}, bidding.Quantiles{P50: bidding.MaxQuantity, P90: bidding.MaxQuantity, P99: bidding.MaxQuantity}},
		{"huge", bidding.CPU, bidding.ClassCritical, forecast.Quantiles{P50: 1e300, P90: math.Inf(1), P99: math.Inf(1)}, bidding.Quantiles{P50: bidding.MaxQuantity, P90: bidding.MaxQuantity, P99: bidding.MaxQuantity}},
	}
	for _, c := range cases {
		got := ClientBid(c.r, c.c, c.q, 0.02, Lent{Looks: true}, nil)
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		b := bidding.Bid{Service: "s", Node: "n", Resources: map[string]bidding.Quantiles{c.r.String(): got}}
		if err := b.Validate(); err != nil {
			t.Errorf("%s: bid does not validate: %v", c.name, err)
		}
	}
	fe := ForecastError(forecast.ErrorMetrics{MASE: math.NaN(), CoverageP90: 1.5, CoverageP99: -1})
	if fe != (bidding.ForecastError{MASE: 0, CoverageP90: 1, CoverageP99: 0}) {
		t.Fatalf("%+v", fe)
	}
}

// TestSurgedMemoryBidValidates: a memory bid floored at a demand above its
// max (the kernel held it back at its limit) raises the max too (or there
// is no max, as now); before, the server dropped it (max below p99) — found
// by the simulator modelling the client's memory-pressed bid.
func TestSurgedMemoryBidValidates(t *testing.T) {
	q := forecast.Quantiles{P50: 100, P90: 200, P99: 300}
	for _, s := range []*Surge{{Demand: 1000}, {Demand: 1000, Margin: 0.1}, {Demand: 1000, Exact: true}} {
		got := ClientBid(bidding.Memory, bidding.ClassStandard, q, 0.02, Lent{Looks: true}, s)
		b := bidding.Bid{Service: "s", Node: "n", Resources: map[string]bidding.Quantiles{"memory": got}}
		if err := b.Validate(); err != nil || got.P90 < 1000 || got.Max != 0 && got.Max < got.P99 {
			t.Errorf("surge %+v: %+v (%v)", *s, got, err)
		}
	}
}

// TestLendableReserved: a lendable resource's bid reserves its class's
// share of the forecast and nothing above it, however wide the interval;
// memory keeps its class quantile, padded; a measured surge still reaches
// above the reservation.
func TestLendableReserved(t *testing.T) {
	q := forecast.Quantiles{P50: 5, P90: 10, P95: 40, P99: 100}
	cases := []struct {
		name  string
		r     bidding.Resource
		c     bidding.Class
		surge *Surge
		want  bidding.Quantiles
	}{
		{"critical cpu at p90", bidding.CPU, bidding.ClassCritical, nil, bidding.Quantiles{P50: 5, P90: 10, P99: 10}},
		{"standard io at p50", bidding.IO, bidding.ClassStandard, nil, bidding.Quantiles{P50: 5, P90: 5, P99: 5}},
		{"batch net at p50", bidding.Net, bidding.ClassBatch, nil, bidding.Quantiles{P50: 5, P90: 5, P99: 5}},
		{"memory keeps its class quantile", bidding.Memory, bidding.ClassCritical, nil, bidding.Quantiles{P50: 6, P90: 11, P99: 102}},
		{"a probed surge above the reservation", bidding.CPU, bidding.ClassStandard, &Surge{Demand: 60, Margin: 0.02, Exact: true}, bidding.Quantiles{P50: 60, P90: 60, P99: 61}},
		{"a bounded surge above the reservation", bidding.CPU, bidding.ClassBatch, &Surge{Demand: 60, Margin: 0.15}, bidding.Quantiles{P50: 5, P90: 60, P99: 69}},
	}
	for _, c := range cases {
		if got := ClientBid(c.r, c.c, q, 0.02, Lent{Looks: true}, c.surge); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

package client

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// TestForecasterWithRegressor drives the bidder's forecaster helpers as the
// bidder does each epoch — the regressor values known so far (through the
// bid horizon) fed with feedRegressors, then the epoch's usage observed —
// on usage = 100 + 50·event, where event follows no pattern the series
// itself could reveal. The forecast two epochs ahead of a service that
// names the regressor must have well under half the error of the same
// service without it.
func TestForecasterWithRegressor(t *testing.T) {
	const n, warm = 600, 300
	iv := 5 * time.Minute
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	event := func(i int) float64 {
		if (i*7919+i*i*31)%11 < 3 {
			return 1
		}
		return 0
	}
	usage := func(i int) float64 { return 100 + 50*event(i) }
	run := func(t *testing.T, s bidding.Service) float64 {
		m, err := newForecaster(s, iv, iv)
		if err != nil {
			t.Fatal(err)
		}
		var known []fsm.RegressorPoint
		var sum float64
		for i := 0; i < n; i++ {
			for len(known) <= i+bidHorizon { // the event schedule is known two epochs ahead
				j := len(known)
				known = append(known, fsm.RegressorPoint{Time: t0.Add(time.Duration(j) * iv), Value: event(j)})
			}
			vals := map[string][]fsm.RegressorPoint{"black_friday": known, "unused": known}
			if missing := feedRegressors(m, s, vals); s.Forecast != nil && len(missing) != 0 {
				t.Fatalf("missing %v", missing)
			}
			m.Observe(t0.Add(time.Duration(i)*iv), usage(i))
			q, err := m.Forecast()
			if err != nil {
				t.Fatal(err)
			}
			if i >= warm && i+bidHorizon-1 < n {
				sum += math.Abs(q[bidHorizon-1].P50 - usage(i+bidHorizon))
			}
		}
		return sum / float64(n-warm)
	}
	for _, model := range []string{"auto", "prophet"} {
		t.Run(model, func(t *testing.T) {
			with := bidding.Service{Name: "shop", Forecast: &bidding.ForecastSpec{Model: model, Regressors: []string{"black_friday"}}}
			without := bidding.Service{Name: "shop", Forecast: &bidding.ForecastSpec{Model: model}}
			ew, eo := run(t, with), run(t, without)
			t.Logf("mean absolute error two epochs ahead: %.2f with the regressor, %.2f without", ew, eo)
			if !(ew < eo/2) {
				t.Fatalf("with the regressor %.2f, without %.2f: want less than half", ew, eo)
			}
			if ew > 10 {
				t.Fatalf("with the regressor the error %.2f should be small next to the event's 50", ew)
			}
		})
	}
}

func TestFeedRegressorsMissingAndNames(t *testing.T) {
	s := bidding.Service{Name: "a", Forecast: &bidding.ForecastSpec{Regressors: []string{"temp", "sale"}}}
	m, err := newForecaster(s, time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := feedRegressors(m, s, map[string][]fsm.RegressorPoint{"temp": {{Time: time.Unix(0, 0), Value: 1}}})
	if !slices.Equal(got, []string{"sale"}) {
		t.Fatalf("missing %v, want [sale]", got)
	}
	if feedRegressors(m, bidding.Service{Name: "b"}, nil) != nil {
		t.Fatal("a service without a forecast block has no regressors")
	}
	svcs := []bidding.Service{s, {Name: "b"}, {Name: "c", Forecast: &bidding.ForecastSpec{Regressors: []string{"temp", "rain"}}}}
	if names := regressorNames(svcs); !slices.Equal(names, []string{"rain", "sale", "temp"}) {
		t.Fatalf("names %v", names)
	}
}

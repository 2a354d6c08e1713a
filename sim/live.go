package sim

import (
	"fmt"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

// Observation modes: what a client's forecaster is fed.
const (
	ObserveDemand = "demand" // cpu and memory: the true demand (measurable from throttling and pressure)
	ObserveCapped = "capped" // usage capped at the allocation (what a naive client sees)
	// ObserveClient is what the node client observes (client/epoch.go):
	// cpu and memory at their demand, except an epoch the kernel held
	// back and no probe measured, which it does not observe at all
	// (censored); io and net as always, their usage or a probe's.
	ObserveClient = "client"
)

// liveForecasts are one run's own forecasters, fed what the run's client
// sees under its allocations as the run goes, so the forecasts depend on
// the allocations: io and net always (the kernel gives no sign of their
// unmet demand), every resource under ObserveCapped and ObserveClient.
// Like RunForecasts, the forecast for epoch k is made from usage up to
// k−Lag.
type liveForecasts struct {
	e    *env
	own  [nr]bool // resources forecast here (the rest: env.f)
	m    [][nr]*forecast.Online
	next [][nr]forecast.Quantiles // the forecast for the next epoch to allocate
	err  [][nr]bidding.ForecastError
}

func newLiveForecasts(e *env, all bool) (*liveForecasts, error) {
	w := e.w
	lf := &liveForecasts{e: e, m: make([][nr]*forecast.Online, len(w.Svcs)),
		next: make([][nr]forecast.Quantiles, len(w.Svcs)), err: make([][nr]bidding.ForecastError, len(w.Svcs))}
	for r := range nr {
		lf.own[r] = all || r == int(bidding.IO) || r == int(bidding.Net)
	}
	for s, sv := range w.Svcs {
		for r := range nr {
			if !sv.Has[r] || !lf.own[r] {
				continue
			}
			m, err := forecast.NewOnline(forecast.Config{Interval: w.Epoch, Horizon: Lag, Model: "auto", MaxHistory: forecastHistory})
			if err != nil {
				return nil, fmt.Errorf("forecaster for %s %s: %w", sv.Def.Name, bidding.Resource(r), err)
			}
			// before the replay there was no allocation to cap the usage
			for i := 0; i < w.Warmup; i++ {
				m.Observe(lf.at(i), sv.Demand[r][i])
			}
			lf.m[s][r] = m
			if w.Warmup > 0 { // epoch 0: the first forecast's first step
				if err := lf.forecastAhead(s, r, 0); err != nil {
					return nil, err
				}
			}
		}
	}
	return lf, nil
}

func (lf *liveForecasts) has(r int) bool { return lf.own[r] }

func (lf *liveForecasts) at(i int) time.Time {
	return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * lf.e.w.Epoch)
}

// forecastAhead keeps step h of the current forecast of s, r as the next.
func (lf *liveForecasts) forecastAhead(s, r, h int) error {
	q, err := lf.m[s][r].Forecast()
	if err != nil || len(q) <= h {
		return fmt.Errorf("forecasting %s %s: %v", lf.e.w.Svcs[s].Def.Name, bidding.Resource(r), err)
	}
	lf.next[s][r], lf.err[s][r] = q[h], forecastError(lf.m[s][r].Metrics())
	return nil
}

// forecast is the forecast of service s, resource r for the epoch being
// allocated.
func (lf *liveForecasts) forecast(s, r int) (forecast.Quantiles, bidding.ForecastError, error) {
	return lf.next[s][r], lf.err[s][r], nil
}

// observe runs after evaluated epoch k: the forecast for k+1 is made from
// usage up to k−1 (Lag = 2 epochs ahead), then what the client saw of
// epoch k is fed (sees: false when it observed nothing).
func (lf *liveForecasts) observe(k int, sees func(j, s, r int) (float64, bool)) error {
	w := lf.e.w
	for s, sv := range w.Svcs {
		for r := range nr {
			if !sv.Has[r] || !lf.own[r] {
				continue
			}
			if w.Warmup+k > 0 {
				if err := lf.forecastAhead(s, r, Lag-1); err != nil {
					return fmt.Errorf("epoch %d: %w", k, err)
				}
			}
			if v, ok := sees(k, s, r); ok {
				lf.m[s][r].Observe(lf.at(w.Warmup+k), v)
			}
			if w.Warmup+k == 0 { // no history before: the shorter horizon, as RunForecasts
				if err := lf.forecastAhead(s, r, 0); err != nil {
					return fmt.Errorf("epoch %d: %w", k, err)
				}
			}
		}
	}
	return nil
}

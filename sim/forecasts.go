package sim

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

// Forecasts holds, per service and resource, the forecast the client's
// forecaster issued for each evaluated epoch Lag epochs ahead (a bid for
// epoch k is made when plan k−1 is committed, from usage measured up to
// k−Lag), and its error metrics at that moment.
type Forecasts struct {
	Q     [][nr][]forecast.Quantiles
	Err   [][nr][]bidding.ForecastError
	Model [][nr]string
}

// RunForecasts replays every series through forecast.Online exactly as a
// client does (Observe each epoch's usage, then Forecast), observing the true
// demand (see DESIGN.md: a client measures demand above its limit from
// pressure and throttling counters). Because the observations do not depend
// on the allocation, one pass serves every policy and contention level.
// Series run in parallel on workers goroutines; done counts finished epochs.
func RunForecasts(w *World, workers int, done *atomic.Int64) (*Forecasts, error) {
	f := &Forecasts{Q: make([][nr][]forecast.Quantiles, len(w.Svcs)), Err: make([][nr][]bidding.ForecastError, len(w.Svcs)), Model: make([][nr]string, len(w.Svcs))}
	type job struct{ s, r int }
	var jobs []job
	for s := range w.Svcs {
		for r := range nr {
			if w.Svcs[s].Has[r] {
				jobs = append(jobs, job{s, r})
			}
		}
	}
	if err := parallel(len(jobs), workers, func(i int) error {
		return forecastSeries(w, f, jobs[i].s, jobs[i].r, done)
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// forecastHistory is the history a client keeps (two weeks of 5-minute steps).
const forecastHistory = 4032

func forecastSeries(w *World, f *Forecasts, s, r int, done *atomic.Int64) error {
	name := w.Svcs[s].Def.Name
	m, err := forecast.NewOnline(forecast.Config{Interval: w.Epoch, Horizon: Lag, Model: "auto", MaxHistory: forecastHistory})
	if err != nil {
		return fmt.Errorf("forecaster for %s %s: %w", name, bidding.Resource(r), err)
	}
	d := w.Svcs[s].Demand[r]
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * w.Epoch) }
	for i := 0; i < w.Warmup; i++ {
		m.Observe(at(i), d[i])
	}
	q := make([]forecast.Quantiles, w.Steps)
	fe := make([]bidding.ForecastError, w.Steps)
	// Before observing epoch k the forecaster's Lag-step forecast is for
	// k+Lag−1; the first epochs take the shorter horizons of the first
	// forecast.
	set := make([]bool, w.Steps)
	for k := 0; k < w.Steps; k++ {
		if w.Warmup+k > 0 {
			fc, err := m.Forecast()
			if err != nil || len(fc) < Lag {
				return fmt.Errorf("forecasting %s %s at epoch %d: %v", name, bidding.Resource(r), k, err)
			}
			mt := forecastError(m.Metrics())
			for h := range Lag {
				if t := k + h; t < w.Steps && (h == Lag-1 || !set[t]) {
					q[t], fe[t], set[t] = fc[h], mt, true
				}
			}
		}
		m.Observe(at(w.Warmup+k), d[w.Warmup+k])
		if done != nil && r == firstResource(w.Svcs[s]) {
			done.Add(1)
		}
	}
	f.Q[s][r], f.Err[s][r], f.Model[s][r] = q, fe, m.ModelName()
	return nil
}

func firstResource(s Svc) int {
	for r := range nr {
		if s.Has[r] {
			return r
		}
	}
	return 0
}

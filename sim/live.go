package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
)

// Observation modes: what a client's forecaster is fed.
const (
	ObserveDemand = "demand" // the true demand (measurable from throttling and pressure)
	ObserveCapped = "capped" // usage capped at the allocation (what a naive client sees)
)

// liveForecasts are one run's own forecasters, fed capped usage as the run
// goes (ObserveCapped): the forecasts then depend on the allocations.
type liveForecasts struct {
	w    *World
	m    [][nr]*forecast.Online
	last [][nr]float64 // last observation fed
}

func newLiveForecasts(w *World) (*liveForecasts, error) {
	lf := &liveForecasts{w: w, m: make([][nr]*forecast.Online, len(w.Svcs)), last: make([][nr]float64, len(w.Svcs))}
	for s, sv := range w.Svcs {
		for r := range nr {
			if !sv.Has[r] {
				continue
			}
			m, err := forecast.NewOnline(forecast.Config{Interval: w.Epoch, Horizon: 1, Model: "auto", MaxHistory: forecastHistory})
			if err != nil {
				return nil, fmt.Errorf("forecaster for %s %s: %w", sv.Def.Name, bidding.Resource(r), err)
			}
			// before the replay there was no allocation to cap the usage
			for i := 0; i < w.Warmup; i++ {
				m.Observe(lf.at(i), sv.Demand[r][i])
				lf.last[s][r] = sv.Demand[r][i]
			}
			lf.m[s][r] = m
		}
	}
	return lf, nil
}

func (lf *liveForecasts) at(i int) time.Time {
	return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * lf.w.Epoch)
}

// forecast is the next epoch's forecast of service s, resource r.
func (lf *liveForecasts) forecast(s, r int) (forecast.Quantiles, bidding.ForecastError, error) {
	q, err := lf.m[s][r].Forecast()
	if err != nil || len(q) == 0 {
		return forecast.Quantiles{}, bidding.ForecastError{}, fmt.Errorf("forecasting %s %s: %v", lf.w.Svcs[s].Def.Name, bidding.Resource(r), err)
	}
	mt := lf.m[s][r].Metrics()
	return q[0], forecastError(mt), nil
}

// observe feeds evaluated epoch k's usage capped at the allocation.
func (lf *liveForecasts) observe(k int, alloc [][nr]int64) {
	i := lf.w.Warmup + k
	for s, sv := range lf.w.Svcs {
		for r := range nr {
			if sv.Has[r] {
				v := math.Min(sv.Demand[r][i], float64(alloc[s][r]))
				lf.m[s][r].Observe(lf.at(i), v)
				lf.last[s][r] = v
			}
		}
	}
}

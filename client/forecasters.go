package client

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/forecast"
	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/go-hclog"
)

// bidHorizon: a sample taken when plan E is committed covers epoch E-1;
// the bid made then is for epoch E+1, two steps ahead.
const bidHorizon = 2

// regressorRefitEvery is how often (in epochs) the forecaster of a service
// that names regressors refits. forecast binds regressor values to its grid
// only at a refit, so a refit every epoch is what lets values posted since
// (an event announced, a revised weather forecast) reach the bid; with the
// default cycle they would arrive too late.
const regressorRefitEvery = 1

// forecasters holds one forecast.Online per (service, resource).
type forecasters struct {
	log    hclog.Logger
	models map[string]*forecast.Online // "service/resource"
	warned map[string]bool             // "name" or "service/name" already warned about
}

func newForecasters(log hclog.Logger) *forecasters {
	return &forecasters{log: log, models: map[string]*forecast.Online{}, warned: map[string]bool{}}
}

// has reports whether the forecaster of (service, resource) exists.
func (f *forecasters) has(s bidding.Service, r bidding.Resource) bool {
	_, ok := f.models[s.Name+"/"+r.String()]
	return ok
}

// get returns the forecaster of (service, resource), creating it for
// epochs (or replay steps) of length interval, each standing for step of
// the series' own time (interval, or longer in compressed time: its
// seasonal periods are a day and a week of steps); created reports a new
// one.
func (f *forecasters) get(s bidding.Service, r bidding.Resource, interval, step time.Duration) (m *forecast.Online, created bool, err error) {
	k := s.Name + "/" + r.String()
	if m, ok := f.models[k]; ok {
		return m, false, nil
	}
	m, err = newForecaster(s, interval, step)
	if err != nil {
		return nil, false, fmt.Errorf("forecaster for %s %s: %w", s.Name, r, err)
	}
	f.models[k] = m
	return m, true, nil
}

// forget drops a service's forecasters (it left this node).
func (f *forecasters) forget(service string) {
	for _, r := range bidding.Resources() {
		delete(f.models, service+"/"+r.String())
	}
}

// newForecaster builds the forecaster of one of service s's resources: the
// service's model (default auto), the bid horizon, and a refit every epoch
// when the service names regressors.
func newForecaster(s bidding.Service, interval, step time.Duration) (*forecast.Online, error) {
	cfg := forecast.Config{Interval: interval, Horizon: bidHorizon, Model: "auto"}
	if step > interval {
		cfg.Periods = forecast.PeriodsFor(step)
	}
	if fs := s.Forecast; fs != nil {
		if fs.Model != "" {
			cfg.Model = fs.Model
		}
		if len(fs.Regressors) > 0 {
			cfg.RefitEvery = regressorRefitEvery
		}
	}
	m, err := forecast.NewOnline(cfg)
	if err != nil {
		return nil, fmt.Errorf("new forecaster: %w", err)
	}
	return m, nil
}

// regressorNames is the sorted union of the regressors the services name.
func regressorNames(svcs []bidding.Service) []string {
	var names []string
	for _, s := range svcs {
		if s.Forecast == nil {
			continue
		}
		for _, r := range s.Forecast.Regressors {
			if !slices.Contains(names, r) {
				names = append(names, r)
			}
		}
	}
	slices.Sort(names)
	return names
}

// feedRegressors passes service s's regressor values to its forecaster m:
// every stored point, past (aligned by forecast to the observations' grid)
// and future (the horizon). forecast keys points by time, so feeding the
// same point every epoch is harmless and a revised value replaces the old
// one. A regressor with no values is left out of the model; it returns the
// names without values.
func feedRegressors(m *forecast.Online, s bidding.Service, vals map[string][]fsm.RegressorPoint) []string {
	if s.Forecast == nil {
		return nil
	}
	var missing []string
	for _, name := range s.Forecast.Regressors {
		pts := vals[name]
		if len(pts) == 0 {
			missing = append(missing, name)
			continue
		}
		for _, p := range pts {
			m.ObserveRegressor(name, p.Time, p.Value)
		}
	}
	return missing
}

// warnMissing warns once per (service, regressor) that has no values yet.
func (f *forecasters) warnMissing(service string, names []string) {
	for _, n := range names {
		if k := service + "/" + n; !f.warned[k] {
			f.log.Warn("regressor has no values (PUT /v1/regressors); the forecast does without it until it has", "service", service, "regressor", n)
			f.warned[k] = true
		}
	}
}

// warnRead warns once that regressors cannot be read (and says when it works again).
func (f *forecasters) warnRead(names []string, err error) {
	if err == nil {
		delete(f.warned, "")
		return
	}
	if !f.warned[""] {
		f.log.Warn("cannot read regressors; forecasting with the values already fed", "regressors", strings.Join(names, ","), "error", err)
		f.warned[""] = true
		return
	}
	f.log.Debug("cannot read regressors", "error", err)
}

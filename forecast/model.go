package forecast

import (
	"fmt"
	"sort"
	"strings"
)

// Model is a point forecaster for one evenly spaced series.
//
// Fit estimates the model on a history (oldest first, finite values).
// Forecast returns the next h point forecasts after the last observation
// seen by Fit or Update. Update appends one new observation and updates the
// model's state cheaply, keeping the fitted parameters (refit with Fit).
// Implementations are not safe for concurrent use.
type Model interface {
	Name() string
	Fit(y []float64) error
	Forecast(h int) ([]float64, error)
	Update(v float64)
}

// Spec describes the seasonality of a series for the model factory.
type Spec struct {
	// Periods are the seasonal periods in steps, shortest first
	// (e.g. 24 and 168 for hourly data, 288 and 2016 for 5-minute data).
	Periods []int
	// Horizon is the forecast horizon the model is selected for (Auto).
	Horizon int
	// Events and Regressors are passed to the Prophet-style models
	// (positions count from the start of the history given to Fit).
	Events     []Event
	Regressors []Regressor
}

func (s Spec) period(i int) int {
	if i >= 0 && i < len(s.Periods) && s.Periods[i] > 1 {
		return s.Periods[i]
	}
	return 1
}

func (s Spec) prophetConfig() ProphetConfig {
	return ProphetConfig{Periods: s.Periods, Events: s.Events, Regressors: s.Regressors}
}

// factories maps model names to constructors. It is never mutated.
var factories = map[string]func(Spec) Model{
	"naive":         func(Spec) Model { return NewSNaive(1) },
	"snaive":        func(s Spec) Model { return NewSNaive(s.period(0)) },
	"snaive-weekly": func(s Spec) Model { return NewSNaive(s.period(len(s.Periods) - 1)) },
	"naive2":        func(s Spec) Model { return NewNaive2(s.period(0)) },
	"smean":         func(s Spec) Model { return NewSMean(s.period(0), 7) },
	"smean-weekly":  func(s Spec) Model { return NewSMean(s.period(len(s.Periods)-1), 4) },
	"sdrift":        func(s Spec) Model { return NewSDrift(s.period(0), 7) },
	"ses":           func(s Spec) Model { return NewETS(ETSConfig{Trend: TrendNone, Season: SeasonNone}) },
	"theta":         func(s Spec) Model { return NewTheta(s.period(0)) },
	"ets": func(s Spec) Model {
		return NewETS(ETSConfig{Period: s.period(0), Trend: TrendAuto, Season: SeasonAuto})
	},
	"prophet":     func(s Spec) Model { return NewProphet(s.prophetConfig()) },
	"mstl":        func(s Spec) Model { return NewMSTL(MSTLConfig{Periods: s.Periods}) },
	"mstl-log":    func(s Spec) Model { return NewLogModel(NewMSTL(MSTLConfig{Periods: s.Periods})) },
	"prophet-log": func(s Spec) Model { return NewLogModel(NewProphet(s.prophetConfig())) },
	"ets-log": func(s Spec) Model {
		return NewLogModel(NewETS(ETSConfig{Period: s.period(0), Trend: TrendAuto, Season: SeasonAdd}))
	},
	"smedian": func(s Spec) Model { return NewSMedian(s.period(0), 7, 1) },
	"tsb":     func(Spec) Model { return NewTSB(0.1, 0.05) },
	"auto":    func(s Spec) Model { return NewAuto(AutoConfig{Spec: s}) },
	"auto-noguard": func(s Spec) Model {
		return NewAuto(AutoConfig{Spec: s, NoGuard: true})
	},
}

// ModelNames lists the names accepted by NewModel, sorted.
func ModelNames() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewModel returns a fresh model by name for a series with the given spec.
func NewModel(name string, spec Spec) (Model, error) {
	f, ok := factories[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownModel, name, strings.Join(ModelNames(), ", "))
	}
	for _, p := range spec.Periods {
		if p < 1 {
			return nil, fmt.Errorf("%w: seasonal period %d < 1", ErrBadConfig, p)
		}
	}
	return f(spec), nil
}

package forecast

import (
	"fmt"
	"math"
	"time"
)

// Config configures an Online forecaster.
type Config struct {
	// Interval is the sampling step of the series (e.g. 5m).
	Interval time.Duration
	// Horizon is the number of steps forecast.
	Horizon int
	// Model is "auto" (per-series backtest selection) or a model name
	// (see ModelNames).
	Model string
	// MaxHistory is the number of most recent steps kept and fitted on
	// (default: three weeks of steps, within [1000, 10000]).
	MaxHistory int

	// RefitEvery is the number of observations between refits (default
	// max(Horizon, one day of steps) capped at 288). Between refits the
	// models are only updated, which is cheap.
	RefitEvery int
	// CalibrationWindow is the number of recent errors kept per horizon
	// step for the conformal quantiles (default 1000).
	CalibrationWindow int
	// Periods overrides the seasonal periods in steps (default: one day and
	// one week of steps when the interval divides them).
	Periods []int
}

// ErrorMetrics summarise the forecast errors seen so far: MASE of the P50
// (scaled by the in-sample one-day seasonal naive error), and the fractions
// of actuals at or below P90 and P99, over N (forecast, actual) pairs from
// every origin and horizon step. Dropped counts observations ignored as
// non-finite, beyond MaxAbsValue, or out of order. LevelShifts counts the
// detected level shifts (after which the history was restarted).
type ErrorMetrics struct {
	MASE, CoverageP90, CoverageP99 float64
	N                              int
	Dropped                        int
	LevelShifts                    int
}

// pending is a forecast issued after observation origin (global index).
type pending struct {
	origin int
	point  []float64
	q      []Quantiles
	regime int // regimeIdle or regimeBusy at the origin (online_regime.go)
}

// Online forecasts one (service, resource) series as observations arrive.
// It aligns observations to the Interval grid (rounding jitter, averaging
// duplicate timestamps, interpolating gaps, restarting after long outages),
// refits its model lazily, and feeds every actual back into the conformal
// calibration. It is not safe for concurrent use.
type Online struct {
	cfg           Config
	spec          Spec
	maxGap        int
	hist          []float64
	n             int // observations absorbed (global index of the next one)
	lastT         time.Time
	started       bool
	dupN          int
	model         Model
	sinceFit      int
	fitLen        int
	cal           *Calibrator
	offsets       [][4]float64
	offAge        int
	ring          []pending
	nonNeg        bool
	scale         float64
	absErr        float64
	b90, b99      int
	scored        int
	dropped       int
	lastQ         []Quantiles
	shiftRun      int     // consecutive large one-step errors of one sign
	shiftTol      float64 // error size counted as large (from calibration)
	shifts        int     // level shifts detected
	lastShiftSign float64
	l90, l99      float64 // adaptive quantile levels (ACI)
	ext           externals
	reg           regimes // idle / busy calibration of intermittent series
}

// NewOnline validates cfg and returns an empty forecaster.
func NewOnline(cfg Config) (*Online, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("online: interval %v: %w", cfg.Interval, ErrBadConfig)
	}
	if cfg.Horizon < 1 || cfg.Horizon > MaxHorizon {
		return nil, fmt.Errorf("online: horizon %d (want 1..%d): %w", cfg.Horizon, MaxHorizon, ErrBadConfig)
	}
	if cfg.Model == "" {
		cfg.Model = "auto"
	}
	spec := Spec{Periods: cfg.Periods, Horizon: cfg.Horizon}
	if len(spec.Periods) == 0 {
		spec.Periods = PeriodsFor(cfg.Interval)
	}
	if _, err := NewModel(cfg.Model, spec); err != nil {
		return nil, fmt.Errorf("online: %w", err)
	}
	if cfg.MaxHistory == 0 {
		cfg.MaxHistory = 1000
		if w := spec.period(len(spec.Periods) - 1); w > 1 {
			cfg.MaxHistory = min(max(3*w, 1000), 10000)
		}
	}
	if cfg.MaxHistory < 2 {
		return nil, fmt.Errorf("online: max history %d (want >= 2): %w", cfg.MaxHistory, ErrBadConfig)
	}
	if cfg.RefitEvery <= 0 {
		cfg.RefitEvery = min(max(cfg.Horizon, spec.period(0)), 288)
	}
	if cfg.CalibrationWindow <= 0 {
		cfg.CalibrationWindow = 1000
	}
	o := &Online{cfg: cfg, spec: spec, nonNeg: true, l90: 0.9, l99: 0.99}
	o.maxGap = max(spec.period(len(spec.Periods)-1), cfg.MaxHistory/4, 12)
	o.cal = NewCalibrator(cfg.Horizon, cfg.CalibrationWindow)
	o.reg = newRegimes(cfg.Horizon, cfg.CalibrationWindow)
	return o, nil
}

// MaxHorizon is the longest horizon an Online forecaster accepts.
const MaxHorizon = 10000

// maxPendingValues bounds the forecasts kept for scoring.
const maxPendingValues = 250000

// PeriodsFor returns the daily and weekly periods in steps of interval
// (those that are whole numbers of at least 2 steps).
func PeriodsFor(iv time.Duration) []int {
	var ps []int
	for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		if span%iv == 0 && span/iv >= 2 {
			ps = append(ps, int(span/iv))
		}
	}
	return ps
}

// Observe records the actual v at time t. Timestamps are rounded to the
// interval grid; a repeated timestamp updates the last value to the mean of
// its duplicates; gaps are filled by linear interpolation (filled points are
// not scored); a gap longer than max(one week, MaxHistory/4) restarts the
// history. Non-finite values, values beyond MaxAbsValue and timestamps before
// the last one are dropped and counted in Metrics().Dropped.
func (o *Online) Observe(t time.Time, v float64) {
	if !isFinite(v) || math.Abs(v) > MaxAbsValue {
		o.dropped++
		return
	}
	if !o.started {
		o.started, o.lastT, o.dupN = true, t, 1
		o.absorb(v, true)
		return
	}
	steps := int(math.Round(float64(t.Sub(o.lastT)) / float64(o.cfg.Interval)))
	switch {
	case steps < 0:
		o.dropped++
		return
	case steps == 0:
		// The model has absorbed the first of the duplicates; the history
		// (hence the next refit) holds their mean.
		last := len(o.hist) - 1
		o.hist[last] += (v - o.hist[last]) / float64(o.dupN+1)
		o.dupN++
		return
	case steps-1 > o.maxGap:
		o.restart()
		o.started, o.lastT, o.dupN = true, t, 1
		o.absorb(v, true)
		return
	}
	prev := o.hist[len(o.hist)-1]
	for i := 1; i < steps; i++ {
		o.lastT = o.lastT.Add(o.cfg.Interval)
		o.absorb(prev+(v-prev)*float64(i)/float64(steps), false)
	}
	o.lastT = o.lastT.Add(o.cfg.Interval)
	o.dupN = 1
	o.absorb(v, true)
}

// restart forgets the history and model but keeps calibration and metrics.
func (o *Online) restart() {
	o.hist = o.hist[:0]
	o.model = nil
	o.ring = o.ring[:0]
	o.fitLen = 0
	o.nonNeg = true
	o.shiftRun = 0
}

func (o *Online) absorb(v float64, real bool) {
	idx := o.n
	if real {
		o.score(idx, v)
		if o.shiftRun >= o.shiftLen() {
			o.levelShift()
		}
	}
	if v < 0 {
		o.nonNeg = false
	}
	o.hist = append(o.hist, v)
	if len(o.hist) > o.cfg.MaxHistory+o.cfg.MaxHistory/4 {
		o.hist = append(o.hist[:0], o.hist[len(o.hist)-o.cfg.MaxHistory:]...)
	}
	o.n++
	if o.model != nil {
		o.model.Update(v)
		o.sinceFit++
	}
	if o.model == nil || o.sinceFit >= o.cfg.RefitEvery || len(o.hist) >= 2*o.fitLen && len(o.hist) <= 4*o.cfg.Horizon+o.spec.period(0)*3 {
		o.refit()
	}
	o.issue(idx)
}

func (o *Online) naive() []float64 {
	out := make([]float64, o.cfg.Horizon)
	for i := range out {
		out[i] = o.hist[len(o.hist)-1]
	}
	return out
}

// refit fits the configured model on the history; on failure it keeps the
// previous model, or falls back to the naive model.
func (o *Online) refit() {
	o.sinceFit = 0
	o.fitLen = len(o.hist)
	o.scale = seasonalScale(o.hist, o.spec.period(0))
	if o.scale == 0 {
		o.scale = seasonalScale(o.hist, 1)
	}
	spec := o.spec
	// Bind externals up to the next refit, so updates between refits see them.
	spec.Events, spec.Regressors = o.ext.bind(len(o.hist), o.cfg.Horizon+o.cfg.RefitEvery, o.lastT, o.cfg.Interval)
	m, res, err := fitCalibrated(o.cfg.Model, spec, o.hist, o.cfg.Horizon)
	if err != nil {
		if o.model != nil {
			return
		}
		nv := NewSNaive(1)
		_ = nv.Fit(o.hist) // cannot fail: hist is non-empty
		m, res = nv, nil
	}
	o.model = m
	if o.cal.Count(o.cfg.Horizon-1) < minCalib {
		o.cal.Seed(res)
		o.offsets = nil
	}
}

// Forecast returns quantiles for the next Horizon steps after the last
// observation. It fails only before the first finite observation.
func (o *Online) Forecast() ([]Quantiles, error) {
	if len(o.hist) == 0 || o.model == nil {
		return nil, fmt.Errorf("online forecast: no observations yet: %w", ErrEmpty)
	}
	o.refreshOffsets()
	return Apply(o.point(), o.offsetsFor(o.regimeNow()), o.nonNeg), nil
}

// ModelName names the model in use (Auto reports its current choice).
func (o *Online) ModelName() string {
	if o.model == nil {
		return o.cfg.Model
	}
	return o.model.Name()
}

// Metrics returns the running error metrics.
func (o *Online) Metrics() ErrorMetrics {
	m := ErrorMetrics{N: o.scored, Dropped: o.dropped, LevelShifts: o.shifts}
	if o.scored > 0 {
		m.MASE = o.absErr / float64(o.scored)
		m.CoverageP90 = float64(o.b90) / float64(o.scored)
		m.CoverageP99 = float64(o.b99) / float64(o.scored)
	}
	return m
}

// LastForecast returns the quantiles issued with the latest observation
// (with horizons beyond 500 steps: the latest of every few observations),
// with calibration at most a few observations old. It is cheaper than
// Forecast and returns nil before the first observation.
func (o *Online) LastForecast() []Quantiles { return o.lastQ }

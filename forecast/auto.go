package forecast

import (
	"fmt"
	"sort"
	"strings"
)

// Combination policies for Auto.
const (
	CombineSelect = "select" // best single model, or a median of the top models, whichever backtests best
	CombineBest   = "best"   // best single model
	CombineMedian = "median" // median of all candidates
)

// AutoConfig configures the per-series selector.
type AutoConfig struct {
	Spec
	// Candidates are model names (see NewModel); default depends on Spec.
	Candidates []string
	// Combine is the policy (default CombineSelect).
	Combine string
	// Validation is the number of backtest origins (default
	// min(max(4*Horizon, first period, 24), len/3)).
	Validation int
	// Refit refits the chosen models on the whole history. By default they
	// keep the parameters fitted on the history minus the validation window
	// (their state is updated through it): half the cost, and on M4 Hourly
	// the same accuracy (OWA 0.430 vs 0.429).
	Refit bool
	// NoGuard keeps the choice even when it is not better than the simple
	// baselines out of sample (guard.go); for measuring the guard.
	NoGuard bool
}

// Auto selects or combines models per series by a rolling-origin backtest
// over the end of the history: each candidate is fitted on the history
// minus the validation window and forecasts Horizon steps from every origin
// in it. The candidate (or median of the k best) with the lowest mean
// absolute error is kept, its state already updated through the whole
// history (see AutoConfig.Refit). Cross-fitted backtest errors of the
// choice serve the conformal calibration (Residuals). Short histories fall back to fewer, simpler candidates (down to naive).
type Auto struct {
	cfg    AutoConfig
	chosen []Model
	label  string
	res    [][]float64
}

// NewAuto returns the per-series selector.
func NewAuto(cfg AutoConfig) *Auto {
	if cfg.Combine == "" {
		cfg.Combine = CombineSelect
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 1
	}
	return &Auto{cfg: cfg}
}

// Name implements Model; after Fit it names the chosen forecaster.
func (a *Auto) Name() string {
	if a.label != "" {
		return "auto:" + a.label
	}
	return "auto"
}

// Residuals returns the signed backtest errors per horizon step of the
// chosen forecaster, cross-fitted: the choice made on one half of the
// validation origins scored on the other half (nil before Fit or when no
// backtest was possible).
func (a *Auto) Residuals() [][]float64 { return a.res }

func (a *Auto) candidates(y []float64) []string {
	if len(a.cfg.Candidates) > 0 {
		return a.cfg.Candidates
	}
	n := len(y)
	m := a.cfg.period(0)
	names := []string{"naive"}
	if n >= 24 && zeroShare(y) >= intermittentZeros {
		names = append(names, "tsb")
	}
	if n >= 12 {
		names = append(names, "ses")
	}
	if m > 1 && n >= m+2 {
		names = append(names, "snaive", "smean", "smedian")
	}
	if m > 1 && n >= 2*m {
		names = append(names, "sdrift")
	}
	if m > 1 && n >= 3*m {
		names = append(names, "ets", "theta", "mstl-log", "prophet-log")
	}
	if len(a.cfg.Events)+len(a.cfg.Regressors) > 0 && n >= 24 {
		names = append(names, "prophet")
	}
	if w := a.cfg.period(len(a.cfg.Periods) - 1); w > m && n >= 2*w {
		names = append(names, "snaive-weekly", "smean-weekly")
	}
	return names
}

// intermittentZeros is the share of zero observations from which Auto also
// tries the intermittent-demand model (TSB).
const intermittentZeros = 0.3

// candidate is one model's backtest.
type candidate struct {
	name  string
	fcs   [][]float64 // forecasts from every validation origin
	mae   float64
	model Model // fitted on the history minus the validation window, updated through it
}

// Fit implements Model.
func (a *Auto) Fit(y []float64) error {
	n := len(y)
	if n == 0 {
		return fmt.Errorf("auto fit: %w", ErrEmpty)
	}
	val := a.cfg.Validation
	if val <= 0 {
		val = validationLength(n, a.cfg.Horizon, a.cfg.Spec)
	}
	split := n - val
	var cands []candidate
	if val >= 2 && split >= 2 {
		var err error
		if cands, err = a.backtest(y, split); err != nil {
			return err
		}
	}
	a.res = nil
	picked := []candidate{{name: "naive"}}
	if len(cands) > 0 {
		order, k, _ := a.chooseOn(cands, y, split, 0, len(cands[0].fcs))
		picked = order[:k]
		a.res = a.crossResiduals(cands, y, split)
		var fallback *candidate
		if fallback, a.res = a.guard(cands, y, split, a.res); fallback != nil {
			picked = []candidate{*fallback}
		}
	}
	return a.keep(picked, y)
}

// backtest walks every candidate through the validation window and
// returns them sorted by mean absolute error.
func (a *Auto) backtest(y []float64, split int) ([]candidate, error) {
	var cands []candidate
	for _, name := range a.candidates(y) {
		m, err := NewModel(name, a.cfg.Spec)
		if err != nil {
			return nil, fmt.Errorf("auto: %w", err)
		}
		fcs, err := WalkForward(m, y, split, a.cfg.Horizon)
		if err != nil {
			continue // this candidate cannot handle this history
		}
		cands = append(cands, candidate{name, fcs, walkMAE(fcs, y, split), m})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].mae < cands[j].mae })
	return cands, nil
}

// chooseOn ranks the candidates by their error over validation origins
// [lo, hi) and picks the best one or the median of the k best, whichever
// has the lower error there. It returns the ranking, k, and the chosen
// forecaster's forecasts from every origin.
func (a *Auto) chooseOn(cands []candidate, y []float64, split, lo, hi int) ([]candidate, int, [][]float64) {
	mae := func(fcs [][]float64) float64 { return walkMAE(fcs[lo:hi], y, split+lo) }
	order := append([]candidate(nil), cands...)
	errs := make(map[string]float64, len(order))
	for _, c := range order {
		errs[c.name] = mae(c.fcs)
	}
	sort.SliceStable(order, func(i, j int) bool { return errs[order[i].name] < errs[order[j].name] })
	bestK, bestMAE, bestFcs := 1, errs[order[0].name], order[0].fcs
	if a.cfg.Combine == CombineBest {
		return order, 1, bestFcs
	}
	for k := 2; k <= len(order); k++ {
		if a.cfg.Combine == CombineMedian && k < len(order) {
			continue
		}
		sets := make([][][]float64, k)
		for i := range sets {
			sets[i] = order[i].fcs
		}
		comb := combineForecasts(sets)
		if e := mae(comb); e < bestMAE || a.cfg.Combine == CombineMedian {
			bestK, bestMAE, bestFcs = k, e, comb
		}
	}
	return order, bestK, bestFcs
}

// crossResiduals returns calibration errors without the optimism of
// selection: the forecaster chosen on the first half of the validation
// origins is scored on the second half, and vice versa.
func (a *Auto) crossResiduals(cands []candidate, y []float64, split int) [][]float64 {
	v := len(cands[0].fcs)
	h := a.cfg.Horizon
	mid := v / 2
	if mid < 1 {
		_, _, fcs := a.chooseOn(cands, y, split, 0, v)
		return stepResiduals(fcs, y, split, h)
	}
	res := make([][]float64, h)
	for _, p := range [][4]int{{mid, v, 0, mid}, {0, mid, mid, v}} {
		_, _, fcs := a.chooseOn(cands, y, split, p[0], p[1])
		r := stepResiduals(fcs[p[2]:p[3]], y, split+p[2], h)
		for k := range res {
			res[k] = append(res[k], r[k]...)
		}
	}
	return res
}

// keep installs the picked models: the walked ones as they are, or refitted
// on y with Refit (or when there was no backtest); naive as a last resort.
func (a *Auto) keep(picked []candidate, y []float64) error {
	a.chosen = a.chosen[:0]
	var used []string
	for _, c := range picked {
		m := c.model
		if m == nil || a.cfg.Refit {
			var err error
			if m, err = NewModel(c.name, a.cfg.Spec); err != nil {
				return fmt.Errorf("auto: %w", err)
			}
			if err := m.Fit(y); err != nil {
				continue
			}
		}
		a.chosen = append(a.chosen, m)
		used = append(used, c.name)
	}
	if len(a.chosen) == 0 {
		m := NewSNaive(1)
		if err := m.Fit(y); err != nil {
			return fmt.Errorf("auto fallback: %w", err)
		}
		a.chosen, used = []Model{m}, []string{"naive"}
	}
	a.label = strings.Join(used, "+")
	return nil
}

// combineForecasts returns the element-wise median of several forecast sets.
// (A mean of the k best was measured too: M4 Hourly OWA 0.433 vs 0.430.)
func combineForecasts(sets [][][]float64) [][]float64 {
	out := make([][]float64, len(sets[0]))
	buf := make([]float64, len(sets))
	for o := range out {
		out[o] = make([]float64, len(sets[0][o]))
		for k := range out[o] {
			for i := range sets {
				buf[i] = sets[i][o][k]
			}
			out[o][k] = medianInPlace(buf)
		}
	}
	return out
}

func medianInPlace(x []float64) float64 {
	sort.Float64s(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}

// Update implements Model.
func (a *Auto) Update(v float64) {
	for _, m := range a.chosen {
		m.Update(v)
	}
}

// Forecast implements Model.
func (a *Auto) Forecast(h int) ([]float64, error) {
	if len(a.chosen) == 0 {
		return nil, fmt.Errorf("auto forecast: %w", ErrNotFitted)
	}
	fs := make([][]float64, 0, len(a.chosen))
	for _, m := range a.chosen {
		f, err := m.Forecast(h)
		if err != nil {
			return nil, fmt.Errorf("auto: %w", err)
		}
		fs = append(fs, f)
	}
	if len(fs) == 1 {
		return fs[0], nil
	}
	out := make([]float64, h)
	buf := make([]float64, len(fs))
	for k := range out {
		for i := range fs {
			buf[i] = fs[i][k]
		}
		out[k] = medianInPlace(buf)
	}
	if !allFinite(out) {
		return nil, fmt.Errorf("auto forecast: non-finite: %w", ErrTooShort)
	}
	return out, nil
}

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
}

// Auto selects or combines models per series by a rolling-origin backtest
// over the end of the history: each candidate is fitted on the history
// minus the validation window and forecasts Horizon steps from every origin
// in it. The candidate (or median of the k best) with the lowest mean
// absolute error is refitted on the whole history. The backtest errors of
// the chosen forecaster are kept for conformal calibration (Residuals).
// Short histories fall back to fewer, simpler candidates (down to naive).
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
// chosen forecaster (nil before Fit or when no backtest was possible).
func (a *Auto) Residuals() [][]float64 { return a.res }

func (a *Auto) candidates(n int) []string {
	if len(a.cfg.Candidates) > 0 {
		return a.cfg.Candidates
	}
	m := a.cfg.period(0)
	names := []string{"naive"}
	if n >= 12 {
		names = append(names, "ses")
	}
	if m > 1 && n >= m+2 {
		names = append(names, "snaive", "smean")
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

// Fit implements Model.
func (a *Auto) Fit(y []float64) error {
	n := len(y)
	if n == 0 {
		return fmt.Errorf("auto fit: %w", ErrEmpty)
	}
	h := a.cfg.Horizon
	names := a.candidates(n)
	val := a.cfg.Validation
	if val <= 0 {
		val = validationLength(n, h, a.cfg.Spec)
	}
	type cand struct {
		name  string
		fcs   [][]float64
		mae   float64
		model Model // fitted on y[:split], updated through y
	}
	var cands []cand
	split := n - val
	if val >= 2 && split >= 2 {
		for _, name := range names {
			m, err := NewModel(name, a.cfg.Spec)
			if err != nil {
				return fmt.Errorf("auto: %w", err)
			}
			fcs, err := WalkForward(m, y, split, h)
			if err != nil {
				continue // candidate cannot handle this history
			}
			cands = append(cands, cand{name, fcs, walkMAE(fcs, y, split), m})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].mae < cands[j].mae })
	var pick []string
	var walked []Model
	a.res = nil
	if len(cands) == 0 {
		pick = []string{"naive"}
	} else {
		bestK, bestMAE := 1, cands[0].mae
		var bestFcs [][]float64 = cands[0].fcs
		if a.cfg.Combine != CombineBest {
			for k := 2; k <= len(cands); k++ {
				if a.cfg.Combine == CombineMedian && k < len(cands) {
					continue
				}
				sets := make([][][]float64, k)
				for i := range sets {
					sets[i] = cands[i].fcs
				}
				comb := combineForecasts(sets)
				mae := walkMAE(comb, y, split)
				if mae < bestMAE || a.cfg.Combine == CombineMedian {
					bestK, bestMAE, bestFcs = k, mae, comb
				}
			}
		}
		for i := 0; i < bestK; i++ {
			pick = append(pick, cands[i].name)
			walked = append(walked, cands[i].model)
		}
		a.res = stepResiduals(bestFcs, y, split, h)
	}
	a.chosen = a.chosen[:0]
	var used []string
	for i, name := range pick {
		if !a.cfg.Refit && i < len(walked) {
			// The walked model has absorbed all of y; keep its parameters.
			a.chosen = append(a.chosen, walked[i])
			used = append(used, name)
			continue
		}
		m, err := NewModel(name, a.cfg.Spec)
		if err != nil {
			return fmt.Errorf("auto: %w", err)
		}
		if err := m.Fit(y); err != nil {
			continue
		}
		a.chosen = append(a.chosen, m)
		used = append(used, name)
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

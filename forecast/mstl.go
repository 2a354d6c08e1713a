package forecast

import (
	"fmt"
	"math"
	"sort"
)

// MSTLConfig configures the multiple-seasonal decomposition model.
type MSTLConfig struct {
	// Periods are the seasonal periods in steps (e.g. 288 and 2016 for
	// 5-minute data). A period is used only when the history holds at least
	// two full cycles of it.
	Periods []int
	// Iterations of the backfitting loop (default 2).
	Iterations int
}

// MSTL is a multiple-seasonal decomposition forecaster: additive seasonal
// profiles for each period are estimated by backfitting (centred moving
// average trend, robust per-phase means, light circular smoothing), the
// seasonally adjusted series is forecast by damped-trend exponential
// smoothing, and the profiles are added back.
type MSTL struct {
	cfg      MSTLConfig
	periods  []int
	profiles [][]float64
	adj      *ETS
	t        int
}

// NewMSTL returns a multiple-seasonal decomposition model.
func NewMSTL(cfg MSTLConfig) *MSTL {
	if cfg.Iterations <= 0 {
		cfg.Iterations = 2
	}
	return &MSTL{cfg: cfg}
}

// Name implements Model.
func (m *MSTL) Name() string { return "mstl" }

// Fit implements Model.
func (m *MSTL) Fit(y []float64) error {
	n := len(y)
	if n < 8 {
		return fmt.Errorf("mstl fit on %d points: %w", n, ErrTooShort)
	}
	m.periods = m.periods[:0]
	for _, p := range m.cfg.Periods {
		if p > 1 && n >= 2*p {
			m.periods = append(m.periods, p)
		}
	}
	sort.Ints(m.periods)
	m.profiles = make([][]float64, len(m.periods))
	for i, p := range m.periods {
		m.profiles[i] = make([]float64, p)
	}
	x := make([]float64, n)
	for it := 0; it < m.cfg.Iterations; it++ {
		for i, p := range m.periods {
			for t := range x {
				x[t] = y[t] - m.seasonalExcept(t, i)
			}
			m.profiles[i] = seasonalProfile(x, p)
		}
	}
	adj := make([]float64, n)
	for t := range adj {
		adj[t] = y[t] - m.seasonalExcept(t, -1)
	}
	m.adj = NewETS(ETSConfig{Trend: TrendAuto, Season: SeasonNone})
	if err := m.adj.Fit(adj); err != nil {
		return fmt.Errorf("mstl adjusted series: %w", err)
	}
	m.t = n
	return nil
}

// seasonalExcept sums the seasonal profiles at position t, skipping index skip.
func (m *MSTL) seasonalExcept(t, skip int) float64 {
	s := 0.0
	for i, p := range m.periods {
		if i != skip {
			s += m.profiles[i][t%p]
		}
	}
	return s
}

// seasonalProfile estimates a zero-mean additive profile of period p from x.
func seasonalProfile(x []float64, p int) []float64 {
	n := len(x)
	trend := centredMA(x, p)
	fillEnds(trend)
	cycles := make([][]float64, p)
	for t := 0; t < n; t++ {
		cycles[t%p] = append(cycles[t%p], x[t]-trend[t])
	}
	prof := make([]float64, p)
	for ph, d := range cycles {
		prof[ph] = robustMean(d)
	}
	if w := p / 288; w >= 1 && len(x) < 8*p {
		prof = circularSmooth(prof, w)
	}
	mu := mean(prof)
	for i := range prof {
		prof[i] -= mu
	}
	return prof
}

// robustMean is the mean after dropping the smallest and largest value when
// there are at least 5 values.
func robustMean(d []float64) float64 {
	if len(d) < 5 {
		return mean(d)
	}
	c := append([]float64(nil), d...)
	sort.Float64s(c)
	return mean(c[1 : len(c)-1])
}

func circularSmooth(x []float64, w int) []float64 {
	p := len(x)
	out := make([]float64, p)
	for i := range x {
		s := 0.0
		for k := -w; k <= w; k++ {
			s += x[((i+k)%p+p)%p]
		}
		out[i] = s / float64(2*w+1)
	}
	return out
}

// fillEnds replaces leading and trailing NaNs by the nearest finite value.
func fillEnds(x []float64) {
	first, last := -1, -1
	for i, v := range x {
		if !math.IsNaN(v) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		for i := range x {
			x[i] = 0
		}
		return
	}
	for i := 0; i < first; i++ {
		x[i] = x[first]
	}
	for i := last + 1; i < len(x); i++ {
		x[i] = x[last]
	}
}

// Update implements Model.
func (m *MSTL) Update(v float64) {
	if m.adj == nil {
		return
	}
	m.adj.Update(v - m.seasonalExcept(m.t, -1))
	m.t++
}

// Forecast implements Model.
func (m *MSTL) Forecast(h int) ([]float64, error) {
	if m.adj == nil {
		return nil, fmt.Errorf("mstl forecast: %w", ErrNotFitted)
	}
	out, err := m.adj.Forecast(h)
	if err != nil {
		return nil, fmt.Errorf("mstl: %w", err)
	}
	for k := range out {
		out[k] += m.seasonalExcept(m.t+k, -1)
	}
	return out, nil
}

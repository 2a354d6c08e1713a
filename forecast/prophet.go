package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Event marks steps (0-based positions from the start of the fitted
// history; positions past its end refer to the forecast horizon) at which a
// calendar event or holiday is in force. Each event gets one indicator
// column.
type Event struct {
	Name  string
	Steps []int
}

// Regressor is an external signal aligned with the series: Values[t] is the
// value at position t, and it must extend past the history over the forecast
// horizon (missing future values are taken as the last known one).
type Regressor struct {
	Name   string
	Values []float64
}

// ProphetConfig configures the Prophet-style regression.
type ProphetConfig struct {
	Periods      []int       // seasonal periods in steps; each gets Fourier terms
	Orders       []int       // Fourier order per period (default min(p/2, 10))
	Changepoints int         // potential trend changepoints (default 20)
	Events       []Event     // calendar indicators
	Regressors   []Regressor // external regressors
	// Ridge penalties relative to the number of observations (defaults
	// 0.5 for changepoints, 1e-3 for everything else).
	ChangepointPenalty, Penalty float64
}

// Prophet is a Prophet-style additive regression: a piecewise-linear trend
// with changepoints, Fourier terms per seasonal period, event indicators and
// external regressors, fitted by ridge-regularised least squares. The
// residual is modelled as AR(1) so that online updates pull the forecast
// towards the latest observations.
type Prophet struct {
	cfg   ProphetConfig
	n     int       // fitted history length
	t     int       // observations absorbed
	cps   []float64 // changepoint positions (steps)
	beta  []float64
	mu    float64 // y centring
	sd    float64 // y scale
	phi   float64 // AR(1) coefficient of residuals
	resid float64 // last residual
	fit   bool
	// events[i][t] reports whether event i is in force at position t.
	events [][]bool
}

// NewProphet returns a Prophet-style regression model.
func NewProphet(cfg ProphetConfig) *Prophet {
	if cfg.Changepoints <= 0 {
		cfg.Changepoints = 20
	}
	if cfg.ChangepointPenalty <= 0 {
		cfg.ChangepointPenalty = 0.5
	}
	if cfg.Penalty <= 0 {
		cfg.Penalty = 1e-3
	}
	return &Prophet{cfg: cfg}
}

// Name implements Model.
func (m *Prophet) Name() string { return "prophet" }

func (m *Prophet) order(i, p int) int {
	if i < len(m.cfg.Orders) && m.cfg.Orders[i] > 0 {
		return min(m.cfg.Orders[i], p/2)
	}
	return min(p/2, 10)
}

func (m *Prophet) usedPeriods() []int {
	var ps []int
	for _, p := range m.cfg.Periods {
		if p > 1 && m.n >= p+p/2 {
			ps = append(ps, p)
		}
	}
	return ps
}

// row fills the design row for position t and returns it with the penalty
// class of each column (0 none, 1 changepoint, 2 other).
func (m *Prophet) row(t int, dst []float64) []float64 {
	dst = dst[:0]
	scale := float64(max(m.n, 1))
	u := float64(t) / scale
	dst = append(dst, 1, u)
	for _, c := range m.cps {
		dst = append(dst, math.Max(0, u-c/scale))
	}
	for i, p := range m.usedPeriods() {
		for k := 1; k <= m.order(i, p); k++ {
			a := 2 * math.Pi * float64(k) * float64(t%p) / float64(p)
			dst = append(dst, math.Sin(a), math.Cos(a))
		}
	}
	for _, on := range m.events {
		v := 0.0
		if t < len(on) && on[t] {
			v = 1
		}
		dst = append(dst, v)
	}
	for _, r := range m.cfg.Regressors {
		v := 0.0
		switch {
		case t < len(r.Values):
			v = r.Values[t]
		case len(r.Values) > 0:
			v = r.Values[len(r.Values)-1]
		}
		if !isFinite(v) {
			v = 0
		}
		dst = append(dst, v)
	}
	return dst
}

// Fit implements Model.
func (m *Prophet) Fit(y []float64) error {
	n := len(y)
	if n < 6 {
		return fmt.Errorf("prophet fit on %d points: %w", n, ErrTooShort)
	}
	m.n = n
	m.mu = mean(y)
	var ss float64
	for _, v := range y {
		ss += (v - m.mu) * (v - m.mu)
	}
	m.sd = math.Sqrt(ss / float64(n))
	if m.sd == 0 || !isFinite(m.sd) {
		m.sd = 1
	}
	m.events = m.events[:0]
	for _, ev := range m.cfg.Events {
		var on []bool
		for _, s := range ev.Steps {
			if s < 0 || s > 10*n+1000 {
				continue
			}
			if s >= len(on) {
				on = append(on, make([]bool, s+1-len(on))...)
			}
			on[s] = true
		}
		m.events = append(m.events, on)
	}
	ncp := min(m.cfg.Changepoints, n/8)
	m.cps = m.cps[:0]
	for j := 1; j <= ncp; j++ {
		m.cps = append(m.cps, math.Floor(0.8*float64(n)*float64(j)/float64(ncp+1)))
	}
	row := m.row(0, nil)
	p := len(row)
	xtx := mat.NewSymDense(p, nil)
	xty := mat.NewVecDense(p, nil)
	for t := 0; t < n; t++ {
		row = m.row(t, row)
		yt := (y[t] - m.mu) / m.sd
		for i := 0; i < p; i++ {
			if row[i] == 0 {
				continue
			}
			xty.SetVec(i, xty.AtVec(i)+row[i]*yt)
			for j := i; j < p; j++ {
				xtx.SetSym(i, j, xtx.At(i, j)+row[i]*row[j])
			}
		}
	}
	for i := 2; i < p; i++ {
		pen := m.cfg.Penalty
		if i < 2+len(m.cps) {
			pen = m.cfg.ChangepointPenalty
		}
		xtx.SetSym(i, i, xtx.At(i, i)+pen*float64(n)*1e-2+1e-9)
	}
	xtx.SetSym(0, 0, xtx.At(0, 0)+1e-9)
	xtx.SetSym(1, 1, xtx.At(1, 1)+1e-9)
	var chol mat.Cholesky
	beta := mat.NewVecDense(p, nil)
	if ok := chol.Factorize(xtx); ok {
		if err := chol.SolveVecTo(beta, xty); err != nil {
			return fmt.Errorf("prophet solve: %w", err)
		}
	} else if err := beta.SolveVec(xtx, xty); err != nil {
		return fmt.Errorf("prophet solve: %w", err)
	}
	m.beta = beta.RawVector().Data
	// AR(1) of residuals.
	var prev, num, den float64
	for t := 0; t < n; t++ {
		r := y[t] - m.predict(t, row)
		if t > 0 {
			num += r * prev
			den += prev * prev
		}
		prev = r
	}
	m.phi = 0
	if den > 0 {
		m.phi = math.Min(math.Max(num/den, 0), 0.99)
	}
	m.resid = prev
	m.t = n
	m.fit = allFinite(m.beta)
	if !m.fit {
		return fmt.Errorf("prophet fit: non-finite coefficients: %w", ErrTooShort)
	}
	return nil
}

func (m *Prophet) predict(t int, buf []float64) float64 {
	row := m.row(t, buf)
	s := 0.0
	for i, v := range row {
		s += v * m.beta[i]
	}
	return m.mu + m.sd*s
}

// Update implements Model.
func (m *Prophet) Update(v float64) {
	if !m.fit {
		return
	}
	m.resid = v - m.predict(m.t, nil)
	m.t++
}

// Forecast implements Model.
func (m *Prophet) Forecast(h int) ([]float64, error) {
	if !m.fit {
		return nil, fmt.Errorf("prophet forecast: %w", ErrNotFitted)
	}
	out := make([]float64, h)
	buf := make([]float64, 0, len(m.beta))
	c := m.resid
	for k := range out {
		c *= m.phi
		out[k] = m.predict(m.t+k, buf) + c
	}
	return out, nil
}

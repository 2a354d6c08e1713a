package forecast

import (
	"fmt"
	"math"
)

// Theta is the M4 Theta benchmark: the series is seasonally adjusted as in
// Naive2, forecast by simple exponential smoothing with a drift of half the
// linear-regression slope (theta = 2), and reseasonalised.
type Theta struct {
	period int
	idx    []float64
	alpha  float64
	level  float64
	slope  float64
	n      int
	fitted bool
}

// NewTheta returns the Theta model for the given seasonal period.
func NewTheta(period int) *Theta { return &Theta{period: period} }

// Name implements Model.
func (m *Theta) Name() string { return "theta" }

// Fit implements Model.
func (m *Theta) Fit(y []float64) error {
	if len(y) < 3 {
		return fmt.Errorf("theta fit on %d points: %w", len(y), ErrTooShort)
	}
	m.idx = nil
	if SeasonalityTest(y, m.period) {
		m.idx = MultiplicativeIndices(y, m.period)
	}
	a := make([]float64, len(y))
	for i, v := range y {
		a[i] = m.adjust(v, i)
	}
	// OLS slope of a on time.
	n := float64(len(a))
	tm := (n - 1) / 2
	am := mean(a)
	var sxy, sxx float64
	for i, v := range a {
		dt := float64(i) - tm
		sxy += dt * (v - am)
		sxx += dt * dt
	}
	m.slope = sxy / sxx
	obj := func(x []float64) float64 {
		al := 0.0001 + 0.9998*sigmoid(x[0])
		l := a[0]
		sse := 0.0
		for _, v := range a[1:] {
			e := v - l
			sse += e * e
			l += al * e
		}
		return sse
	}
	xb, _ := nelderMead(obj, []float64{logit(0.3)}, []float64{1}, 60)
	m.alpha = 0.0001 + 0.9998*sigmoid(xb[0])
	m.level = a[0]
	for _, v := range a[1:] {
		m.level += m.alpha * (v - m.level)
	}
	m.n = len(y)
	m.fitted = true
	return nil
}

func (m *Theta) adjust(v float64, pos int) float64 {
	if m.idx == nil {
		return v
	}
	return v / m.idx[pos%m.period]
}

// Update implements Model.
func (m *Theta) Update(v float64) {
	if !m.fitted {
		return
	}
	m.level += m.alpha * (m.adjust(v, m.n) - m.level)
	m.n++
}

// Forecast implements Model.
func (m *Theta) Forecast(h int) ([]float64, error) {
	if !m.fitted {
		return nil, fmt.Errorf("theta forecast: %w", ErrNotFitted)
	}
	out := make([]float64, h)
	decay := (1 - math.Pow(1-m.alpha, float64(m.n))) / m.alpha
	for k := range out {
		out[k] = m.level + m.slope/2*(float64(k)+decay)
		if m.idx != nil {
			out[k] *= m.idx[(m.n+k)%m.period]
		}
	}
	return out, nil
}

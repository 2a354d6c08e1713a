package forecast

import "fmt"

// Naive2 is the M4 benchmark: the naive forecast of the seasonally adjusted
// series, reseasonalised. Seasonality is used only when SeasonalityTest
// passes; indices come from classical multiplicative decomposition. Series
// with non-positive values are treated as non-seasonal.
type Naive2 struct {
	period int
	idx    []float64 // nil when non-seasonal
	n      int       // observations seen (for the phase)
	last   float64   // last seasonally adjusted value
	fitted bool
}

// NewNaive2 returns the M4 Naive2 model for the given seasonal period.
func NewNaive2(period int) *Naive2 { return &Naive2{period: period} }

// Name implements Model.
func (m *Naive2) Name() string { return "naive2" }

// Seasonal reports whether the fitted model uses seasonal indices.
func (m *Naive2) Seasonal() bool { return m.idx != nil }

// Fit implements Model.
func (m *Naive2) Fit(y []float64) error {
	if len(y) == 0 {
		return fmt.Errorf("naive2 fit: %w", ErrEmpty)
	}
	m.idx = nil
	if SeasonalityTest(y, m.period) {
		m.idx = MultiplicativeIndices(y, m.period)
	}
	m.n = len(y)
	m.last = m.adjust(y[len(y)-1], m.n-1)
	m.fitted = true
	return nil
}

func (m *Naive2) adjust(v float64, pos int) float64 {
	if m.idx == nil {
		return v
	}
	return v / m.idx[pos%m.period]
}

// Update implements Model.
func (m *Naive2) Update(v float64) {
	if !m.fitted {
		return
	}
	m.last = m.adjust(v, m.n)
	m.n++
}

// Forecast implements Model.
func (m *Naive2) Forecast(h int) ([]float64, error) {
	if !m.fitted {
		return nil, fmt.Errorf("naive2 forecast: %w", ErrNotFitted)
	}
	out := make([]float64, h)
	for i := range out {
		out[i] = m.last
		if m.idx != nil {
			out[i] *= m.idx[(m.n+i)%m.period]
		}
	}
	return out, nil
}

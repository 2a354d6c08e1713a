package forecast

import "fmt"

// SNaive is the seasonal naive model: the forecast for a step repeats the
// observation one season earlier. With period 1 it is the naive (random
// walk) model. When the history is shorter than one period it falls back to
// the naive model.
type SNaive struct {
	period int
	y      []float64
	fitted bool
}

// NewSNaive returns a seasonal naive model with the given period (>= 1).
func NewSNaive(period int) *SNaive {
	if period < 1 {
		period = 1
	}
	return &SNaive{period: period}
}

// Name implements Model.
func (m *SNaive) Name() string {
	if m.period == 1 {
		return "naive"
	}
	return fmt.Sprintf("snaive%d", m.period)
}

// Fit implements Model.
func (m *SNaive) Fit(y []float64) error {
	if len(y) == 0 {
		return fmt.Errorf("snaive fit: %w", ErrEmpty)
	}
	keep := 2 * m.period
	if keep < len(y) {
		y = y[len(y)-keep:]
	}
	m.y = append(m.y[:0], y...)
	m.fitted = true
	return nil
}

// Update implements Model.
func (m *SNaive) Update(v float64) {
	if !m.fitted {
		return
	}
	m.y = append(m.y, v)
	if len(m.y) > 4*m.period+16 {
		keep := 2 * m.period
		m.y = append(m.y[:0], m.y[len(m.y)-keep:]...)
	}
}

// Forecast implements Model.
func (m *SNaive) Forecast(h int) ([]float64, error) {
	n := len(m.y)
	if !m.fitted || n == 0 {
		return nil, fmt.Errorf("snaive forecast: %w", ErrNotFitted)
	}
	out := make([]float64, h)
	if n < m.period {
		for i := range out {
			out[i] = m.y[n-1]
		}
		return out, nil
	}
	for i := range out {
		out[i] = m.y[n-m.period+i%m.period]
	}
	return out, nil
}

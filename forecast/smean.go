package forecast

import "fmt"

// SMean is the seasonal mean model: the forecast for a step is the mean of
// the observations at the same phase in the last Cycles seasons (a
// smoother seasonal naive). It falls back to fewer cycles, and to the
// naive model when the history is shorter than one period.
type SMean struct {
	period, cycles int
	y              []float64
	fitted         bool
}

// NewSMean returns a seasonal mean model.
func NewSMean(period, cycles int) *SMean {
	return &SMean{period: max(period, 1), cycles: max(cycles, 1)}
}

// Name implements Model.
func (m *SMean) Name() string { return fmt.Sprintf("smean%dx%d", m.period, m.cycles) }

// Fit implements Model.
func (m *SMean) Fit(y []float64) error {
	if len(y) == 0 {
		return fmt.Errorf("smean fit: %w", ErrEmpty)
	}
	keep := m.period * m.cycles
	if keep < len(y) {
		y = y[len(y)-keep:]
	}
	m.y = append(m.y[:0], y...)
	m.fitted = true
	return nil
}

// Update implements Model.
func (m *SMean) Update(v float64) {
	if !m.fitted {
		return
	}
	m.y = append(m.y, v)
	keep := m.period * m.cycles
	if len(m.y) > 2*keep+16 {
		m.y = append(m.y[:0], m.y[len(m.y)-keep:]...)
	}
}

// Forecast implements Model.
func (m *SMean) Forecast(h int) ([]float64, error) {
	if !m.fitted {
		return nil, fmt.Errorf("smean forecast: %w", ErrNotFitted)
	}
	n := len(m.y)
	out := make([]float64, h)
	if n < m.period {
		for i := range out {
			out[i] = m.y[n-1]
		}
		return out, nil
	}
	c := min(m.cycles, n/m.period)
	for i := range out {
		ph := i % m.period
		s := 0.0
		for k := 1; k <= c; k++ {
			s += m.y[n-k*m.period+ph]
		}
		out[i] = s / float64(c)
	}
	return out, nil
}

// SDrift is the seasonal naive model with drift: the seasonal naive
// forecast plus the mean seasonal difference of the last Cycles seasons per
// season ahead (for growing or shrinking seasonal series).
type SDrift struct {
	SNaive
	cycles int
}

// NewSDrift returns a seasonal naive model with drift.
func NewSDrift(period, cycles int) *SDrift {
	return &SDrift{SNaive: SNaive{period: max(period, 1)}, cycles: max(cycles, 1)}
}

// Name implements Model.
func (m *SDrift) Name() string { return fmt.Sprintf("sdrift%d", m.period) }

// Fit implements Model.
func (m *SDrift) Fit(y []float64) error {
	if err := m.SNaive.Fit(y); err != nil {
		return err
	}
	keep := m.period * (m.cycles + 1)
	if keep < len(y) {
		y = y[len(y)-keep:]
	}
	m.y = append(m.y[:0], y...)
	return nil
}

// Update implements Model.
func (m *SDrift) Update(v float64) {
	if !m.fitted {
		return
	}
	m.y = append(m.y, v)
	keep := m.period * (m.cycles + 1)
	if len(m.y) > 2*keep+16 {
		m.y = append(m.y[:0], m.y[len(m.y)-keep:]...)
	}
}

// Forecast implements Model.
func (m *SDrift) Forecast(h int) ([]float64, error) {
	out, err := m.SNaive.Forecast(h)
	if err != nil {
		return nil, err
	}
	n, p := len(m.y), m.period
	c := min(m.cycles, n/p-1)
	if c < 1 {
		return out, nil
	}
	// Mean change per season over the last c seasons.
	d := (mean(m.y[n-p:]) - mean(m.y[n-(c+1)*p:n-c*p])) / float64(c)
	for k := range out {
		out[k] += d * float64(k/p+1)
	}
	return out, nil
}

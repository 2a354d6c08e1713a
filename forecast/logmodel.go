package forecast

import (
	"fmt"
	"math"
)

// LogModel fits its inner model on the logarithm of a strictly positive
// series (multiplicative seasonality and growth become additive) and
// exponentiates the forecasts (a median-type forecast). On series with
// non-positive values it passes the data through unchanged.
type LogModel struct {
	inner  Model
	log    bool
	floor  float64 // smallest positive value seen, for clamping updates
	fitted bool
}

// NewLogModel wraps inner.
func NewLogModel(inner Model) *LogModel { return &LogModel{inner: inner} }

// Name implements Model.
func (m *LogModel) Name() string { return "log-" + m.inner.Name() }

// Fit implements Model.
func (m *LogModel) Fit(y []float64) error {
	lo, _ := minMax(y)
	m.log = len(y) > 0 && lo > 0
	m.fitted = false
	if !m.log {
		if err := m.inner.Fit(y); err != nil {
			return fmt.Errorf("log model: %w", err)
		}
		m.fitted = true
		return nil
	}
	m.floor = lo
	ly := make([]float64, len(y))
	for i, v := range y {
		ly[i] = math.Log(v)
	}
	if err := m.inner.Fit(ly); err != nil {
		return fmt.Errorf("log model: %w", err)
	}
	m.fitted = true
	return nil
}

// Update implements Model.
func (m *LogModel) Update(v float64) {
	if !m.fitted {
		return
	}
	if m.log {
		v = math.Log(math.Max(v, m.floor/2))
	}
	m.inner.Update(v)
}

// Forecast implements Model.
func (m *LogModel) Forecast(h int) ([]float64, error) {
	if !m.fitted {
		return nil, fmt.Errorf("log model forecast: %w", ErrNotFitted)
	}
	f, err := m.inner.Forecast(h)
	if err != nil {
		return nil, fmt.Errorf("log model: %w", err)
	}
	if m.log {
		for i, v := range f {
			f[i] = math.Exp(math.Min(v, 700))
		}
	}
	return f, nil
}

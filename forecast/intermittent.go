package forecast

import "fmt"

// Models for spiky and intermittent series, where a mean is pulled up by
// rare spikes and a seasonal naive repeats yesterday's spike.

// SMedian is the seasonal median: the forecast for a step is the median of
// the observations at the same phase (± Width steps) in the last Cycles
// seasons — a time-of-day profile that ignores spikes. With fewer than one
// season of history it is the median of the last Width·2+1 observations.
type SMedian struct {
	period, cycles, width int
	y                     []float64
	fitted                bool
	buf                   []float64
}

// NewSMedian returns a seasonal median model.
func NewSMedian(period, cycles, width int) *SMedian {
	return &SMedian{period: max(period, 1), cycles: max(cycles, 1), width: max(width, 0)}
}

// Name implements Model.
func (m *SMedian) Name() string { return fmt.Sprintf("smedian%dx%d", m.period, m.cycles) }

func (m *SMedian) keep() int { return m.period*m.cycles + m.width + 1 }

// Fit implements Model.
func (m *SMedian) Fit(y []float64) error {
	if len(y) == 0 {
		return fmt.Errorf("smedian fit: %w", ErrEmpty)
	}
	if k := m.keep(); k < len(y) {
		y = y[len(y)-k:]
	}
	m.y = append(m.y[:0], y...)
	m.fitted = true
	return nil
}

// Update implements Model.
func (m *SMedian) Update(v float64) {
	if !m.fitted {
		return
	}
	m.y = append(m.y, v)
	if k := m.keep(); len(m.y) > 2*k+16 {
		m.y = append(m.y[:0], m.y[len(m.y)-k:]...)
	}
}

// Forecast implements Model.
func (m *SMedian) Forecast(h int) ([]float64, error) {
	if !m.fitted {
		return nil, fmt.Errorf("smedian forecast: %w", ErrNotFitted)
	}
	n := len(m.y)
	out := make([]float64, h)
	if n < m.period+m.width+1 || m.period == 1 {
		w := m.y[max(0, n-2*m.width-1):]
		v := medianInPlace(append(m.buf[:0], w...))
		for i := range out {
			out[i] = v
		}
		return out, nil
	}
	c := min(m.cycles, (n-m.width-1)/m.period)
	for i := range out {
		m.buf = m.buf[:0]
		for k := 1; k <= c; k++ {
			// the target is n+i; one season back is n+i-k·period
			at := n + i%m.period - k*m.period
			for d := -m.width; d <= m.width; d++ {
				if j := at + d; j >= 0 && j < n {
					m.buf = append(m.buf, m.y[j])
				}
			}
		}
		out[i] = medianInPlace(m.buf)
	}
	return out, nil
}

// TSB is the Teunter–Syntetos–Babai method for intermittent demand: the
// probability that a step is non-zero and the size of a non-zero step are
// smoothed separately (the probability every step, the size only at
// non-zero steps), and the forecast is their product, flat over the
// horizon. Unlike Croston's it lets the probability decay through a long
// idle stretch.
type TSB struct {
	alpha, beta float64 // smoothing of the size and of the probability
	p, z        float64
	fitted      bool
}

// NewTSB returns a TSB model with the given smoothing constants.
func NewTSB(alpha, beta float64) *TSB { return &TSB{alpha: alpha, beta: beta} }

// Name implements Model.
func (m *TSB) Name() string { return "tsb" }

// Fit implements Model: the state starts at the mean non-zero size and the
// share of non-zero steps of the first tenth of y, then runs through y.
func (m *TSB) Fit(y []float64) error {
	if len(y) == 0 {
		return fmt.Errorf("tsb fit: %w", ErrEmpty)
	}
	head := y[:max(1, len(y)/10)]
	var nz int
	var s float64
	for _, v := range head {
		if v != 0 {
			nz++
			s += v
		}
	}
	m.p, m.z = float64(nz)/float64(len(head)), 0
	if nz > 0 {
		m.z = s / float64(nz)
	}
	m.fitted = true
	for _, v := range y {
		m.Update(v)
	}
	return nil
}

// Update implements Model.
func (m *TSB) Update(v float64) {
	if !m.fitted {
		return
	}
	if v != 0 {
		m.p += m.beta * (1 - m.p)
		m.z += m.alpha * (v - m.z)
		return
	}
	m.p -= m.beta * m.p
}

// Forecast implements Model.
func (m *TSB) Forecast(h int) ([]float64, error) {
	if !m.fitted {
		return nil, fmt.Errorf("tsb forecast: %w", ErrNotFitted)
	}
	out := make([]float64, h)
	for i := range out {
		out[i] = m.p * m.z
	}
	return out, nil
}

// zeroShare is the share of exact zeros in y.
func zeroShare(y []float64) float64 {
	if len(y) == 0 {
		return 0
	}
	z := 0
	for _, v := range y {
		if v == 0 {
			z++
		}
	}
	return float64(z) / float64(len(y))
}

package forecast

import (
	"fmt"
	"math"
)

// WalkForward fits m on y[:split] and then walks through y[split:]: at each
// origin it forecasts h steps and absorbs the next actual with Update. It
// returns the forecasts per origin: fc[o] was made after y[:split+o].
func WalkForward(m Model, y []float64, split, h int) ([][]float64, error) {
	if split < 1 || split >= len(y) {
		return nil, fmt.Errorf("walk forward: split %d outside (0,%d): %w", split, len(y), ErrBadConfig)
	}
	if err := m.Fit(y[:split]); err != nil {
		return nil, fmt.Errorf("walk forward %s: %w", m.Name(), err)
	}
	fcs := make([][]float64, 0, len(y)-split)
	for t := split; t < len(y); t++ {
		f, err := m.Forecast(h)
		if err != nil {
			return nil, fmt.Errorf("walk forward %s at %d: %w", m.Name(), t, err)
		}
		if !allFinite(f) {
			return nil, fmt.Errorf("walk forward %s at %d: non-finite forecast: %w", m.Name(), t, ErrTooShort)
		}
		fcs = append(fcs, f)
		m.Update(y[t])
	}
	return fcs, nil
}

// stepResiduals returns the signed out-of-sample errors y - f per horizon
// step (index 0 = one step ahead) of forecasts made by WalkForward.
func stepResiduals(fcs [][]float64, y []float64, split, h int) [][]float64 {
	res := make([][]float64, h)
	for o, f := range fcs {
		for k := 0; k < h && k < len(f); k++ {
			t := split + o + k
			if t >= len(y) {
				break
			}
			res[k] = append(res[k], y[t]-f[k])
		}
	}
	return res
}

// walkMAE is the mean absolute error over all origins and steps.
func walkMAE(fcs [][]float64, y []float64, split int) float64 {
	s, n := 0.0, 0
	for o, f := range fcs {
		for k, v := range f {
			t := split + o + k
			if t >= len(y) {
				break
			}
			s += math.Abs(y[t] - v)
			n++
		}
	}
	if n == 0 {
		return math.Inf(1)
	}
	return s / float64(n)
}

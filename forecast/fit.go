package forecast

import "fmt"

// validationLength is the number of backtest origins used for selection and
// calibration on a history of n points.
// The origins are capped so that the backtest holds at most about
// maxBacktestValues forecast values (long horizons).
func validationLength(n, h int, spec Spec) int {
	return min(max(4*h, spec.period(0), 24), n/3, max(2, maxBacktestValues/h))
}

const maxBacktestValues = 200000

// fitCalibrated fits the named model on y and returns it with the signed
// backtest errors per horizon step of the same kind of model (nil when the
// history is too short for a backtest).
func fitCalibrated(name string, spec Spec, y []float64, h int) (Model, [][]float64, error) {
	spec.Horizon = h
	m, err := NewModel(name, spec)
	if err != nil {
		return nil, nil, err
	}
	if a, ok := m.(*Auto); ok {
		if err := a.Fit(y); err != nil {
			return nil, nil, fmt.Errorf("fit %s: %w", name, err)
		}
		return a, a.Residuals(), nil
	}
	var res [][]float64
	if val := validationLength(len(y), h, spec); val >= 2 {
		bt, _ := NewModel(name, spec)
		if fcs, err := WalkForward(bt, y, len(y)-val, h); err == nil {
			res = stepResiduals(fcs, y, len(y)-val, h)
		}
	}
	if err := m.Fit(y); err != nil {
		return nil, nil, fmt.Errorf("fit %s: %w", name, err)
	}
	return m, res, nil
}

package forecast

import (
	"fmt"
	"math"
)

// Prediction is a point forecast with conformal quantiles.
type Prediction struct {
	Model     string      // name of the fitted model (Auto reports its choice)
	Point     []float64   // point forecasts
	Quantiles []Quantiles // calibrated quantiles
}

// CheckSeries validates a history for the batch API: it must be non-empty,
// contain a finite value and no value beyond MaxAbsValue. NaN and Inf
// entries are reported with ErrNoFinite only when all are non-finite;
// otherwise callers should clean them first (see FillGaps).
func CheckSeries(y []float64) error {
	if len(y) == 0 {
		return ErrEmpty
	}
	finite := 0
	for i, v := range y {
		if !isFinite(v) {
			continue
		}
		finite++
		if math.Abs(v) > MaxAbsValue {
			return fmt.Errorf("value %g at %d: %w (limit %g)", v, i, ErrTooLarge, MaxAbsValue)
		}
	}
	if finite == 0 {
		return ErrNoFinite
	}
	return nil
}

// Predict fits the named model on y and forecasts h steps with quantiles
// calibrated on a rolling-origin backtest over the end of y. Non-finite
// entries are interpolated. Series that are all non-negative get
// non-negative quantiles.
func Predict(name string, spec Spec, y []float64, h int) (Prediction, error) {
	if h < 1 {
		return Prediction{}, fmt.Errorf("predict: horizon %d: %w", h, ErrBadConfig)
	}
	if err := CheckSeries(y); err != nil {
		return Prediction{}, fmt.Errorf("predict: %w", err)
	}
	y = FillGaps(y)
	m, res, err := fitCalibrated(name, spec, y, h)
	if err != nil {
		return Prediction{}, fmt.Errorf("predict: %w", err)
	}
	cal := NewCalibrator(h, 1000)
	cal.FallbackScale = seasonalScale(y, 1)
	cal.Seed(res)
	point, err := m.Forecast(h)
	if err != nil {
		return Prediction{}, fmt.Errorf("predict %s: %w", name, err)
	}
	if !allFinite(point) {
		// Documented fallback: the naive forecast.
		point = make([]float64, h)
		for i := range point {
			point[i] = y[len(y)-1]
		}
	}
	lo, _ := minMax(y)
	return Prediction{Model: m.Name(), Point: point, Quantiles: Apply(point, cal.Offsets(), lo >= 0)}, nil
}

// FillGaps returns y with NaN/Inf entries replaced by linear interpolation
// between the nearest finite neighbours (the nearest one at the ends). y
// must contain at least one finite value; it is returned unchanged when it
// has no gaps.
func FillGaps(y []float64) []float64 {
	if allFinite(y) {
		return y
	}
	out := append([]float64(nil), y...)
	prev := -1
	for i, v := range out {
		if !isFinite(v) {
			continue
		}
		switch {
		case prev < 0:
			for j := 0; j < i; j++ {
				out[j] = v
			}
		case i-prev > 1:
			for j := prev + 1; j < i; j++ {
				f := float64(j-prev) / float64(i-prev)
				out[j] = out[prev]*(1-f) + v*f
			}
		}
		prev = i
	}
	if prev < 0 {
		return out
	}
	for j := prev + 1; j < len(out); j++ {
		out[j] = out[prev]
	}
	return out
}

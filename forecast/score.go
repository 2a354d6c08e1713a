package forecast

import "math"

// SMAPE is the M4 symmetric MAPE in percent: mean of 200|y-f|/(|y|+|f|).
// Pairs where both are zero contribute 0.
func SMAPE(actual, fc []float64) float64 {
	n := min(len(actual), len(fc))
	if n == 0 {
		return 0
	}
	s := 0.0
	for i := 0; i < n; i++ {
		d := math.Abs(actual[i]) + math.Abs(fc[i])
		if d > 0 {
			s += 200 * math.Abs(actual[i]-fc[i]) / d
		}
	}
	return s / float64(n)
}

// MASE is the M4 mean absolute scaled error: the forecast MAE divided by
// the in-sample MAE of the seasonal naive forecast with period m. When that
// scale is zero (a constant history) it falls back to the mean absolute
// in-sample level, and to 1, so that the result is always finite.
func MASE(insample, actual, fc []float64, m int) float64 {
	n := min(len(actual), len(fc))
	if n == 0 {
		return 0
	}
	mae := 0.0
	for i := 0; i < n; i++ {
		mae += math.Abs(actual[i] - fc[i])
	}
	mae /= float64(n)
	scale := seasonalScale(insample, m)
	if scale == 0 || !isFinite(scale) {
		scale = 0
		for _, v := range insample {
			scale += math.Abs(v)
		}
		if len(insample) > 0 {
			scale /= float64(len(insample))
		}
		if scale == 0 || !isFinite(scale) {
			scale = 1
		}
	}
	return mae / scale
}

// OWA is the M4 overall weighted average relative to Naive2, from
// subset-level mean sMAPE and MASE. ok is false (and owa 0) when it is
// undefined: a Naive2 score is zero or not finite.
func OWA(smape, mase, smapeNaive2, maseNaive2 float64) (owa float64, ok bool) {
	if smapeNaive2 <= 0 || maseNaive2 <= 0 || !isFinite(smapeNaive2) || !isFinite(maseNaive2) {
		return 0, false
	}
	return 0.5 * (smape/smapeNaive2 + mase/maseNaive2), true
}

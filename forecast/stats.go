package forecast

import (
	"math"
	"sort"
)

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// quantileSorted returns the q-quantile of sorted x by linear interpolation.
func quantileSorted(x []float64, q float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	if q <= 0 {
		return x[0]
	}
	if q >= 1 {
		return x[n-1]
	}
	pos := q * float64(n-1)
	lo := int(math.Floor(pos))
	hi := lo + 1
	if hi >= n {
		return x[n-1]
	}
	f := pos - float64(lo)
	return x[lo]*(1-f) + x[hi]*f
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := append([]float64(nil), x...)
	sort.Float64s(c)
	return quantileSorted(c, 0.5)
}

// seasonalScale is the MASE denominator: mean |x_i - x_{i-m}| for i >= m.
// It falls back to lag 1 when the series is shorter than m+1, and returns 0
// when no difference exists.
func seasonalScale(x []float64, m int) float64 {
	if m < 1 || len(x) <= m {
		m = 1
	}
	if len(x) <= m {
		return 0
	}
	s := 0.0
	for i := m; i < len(x); i++ {
		s += math.Abs(x[i] - x[i-m])
	}
	return s / float64(len(x)-m)
}

func clampFinite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > math.MaxFloat64/4:
		return math.MaxFloat64 / 4
	case v < -math.MaxFloat64/4:
		return -math.MaxFloat64 / 4
	}
	return v
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if !isFinite(v) {
			return false
		}
	}
	return true
}

func minMax(x []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo = math.Min(lo, v)
		hi = math.Max(hi, v)
	}
	return lo, hi
}

func sortedCopy(x []float64) []float64 {
	c := append([]float64(nil), x...)
	sort.Float64s(c)
	return c
}

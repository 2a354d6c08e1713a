package forecast

import "math"

// SeasonalityTest is the M4 90% autocorrelation test: the series is treated
// as seasonal with period m when |ACF(m)| > 1.645*sqrt((1+2*sum_{k<m} ACF(k)^2)/n).
// It needs n >= 3m and m > 1.
func SeasonalityTest(x []float64, m int) bool {
	n := len(x)
	if m <= 1 || n < 3*m {
		return false
	}
	acf := autocorr(x, m)
	if acf == nil {
		return false
	}
	s := 1.0
	for k := 1; k < m; k++ {
		s += 2 * acf[k] * acf[k]
	}
	limit := 1.645 / math.Sqrt(float64(n)) * math.Sqrt(s)
	return math.Abs(acf[m]) > limit
}

// autocorr returns ACF(0..maxLag) as R's acf computes it (mean-centred,
// denominator n*var), or nil when the variance is zero.
func autocorr(x []float64, maxLag int) []float64 {
	n := len(x)
	mu := mean(x)
	var c0 float64
	for _, v := range x {
		c0 += (v - mu) * (v - mu)
	}
	if c0 == 0 || !isFinite(c0) {
		return nil
	}
	out := make([]float64, maxLag+1)
	for k := 0; k <= maxLag && k < n; k++ {
		var c float64
		for i := k; i < n; i++ {
			c += (x[i] - mu) * (x[i-k] - mu)
		}
		out[k] = c / c0
	}
	return out
}

// MultiplicativeIndices returns the m seasonal indices of R's
// decompose(type="multiplicative"): a centred 2xm moving average trend,
// phase means of x/trend, normalised to mean 1. Index i applies to positions
// p with p mod m == i (0-based from the start of x). It returns nil when the
// series is too short or not strictly positive.
func MultiplicativeIndices(x []float64, m int) []float64 {
	n := len(x)
	if m <= 1 || n < 2*m {
		return nil
	}
	for _, v := range x {
		if v <= 0 {
			return nil
		}
	}
	trend := centredMA(x, m)
	sums := make([]float64, m)
	cnt := make([]int, m)
	for i := range x {
		if math.IsNaN(trend[i]) || trend[i] == 0 {
			continue
		}
		sums[i%m] += x[i] / trend[i]
		cnt[i%m]++
	}
	fig := make([]float64, m)
	tot := 0.0
	for i := range fig {
		if cnt[i] == 0 {
			return nil
		}
		fig[i] = sums[i] / float64(cnt[i])
		tot += fig[i]
	}
	avg := tot / float64(m)
	if avg <= 0 || !isFinite(avg) {
		return nil
	}
	for i := range fig {
		fig[i] /= avg
		if fig[i] <= 0 || !isFinite(fig[i]) {
			return nil
		}
	}
	return fig
}

// centredMA is R's filter(x, c(0.5, rep(1, m-1), 0.5)/m) for even m and
// rep(1/m, m) for odd m, with NaN where the window does not fit.
func centredMA(x []float64, m int) []float64 {
	n := len(x)
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	if m%2 == 1 {
		half := m / 2
		s := 0.0
		for i := 0; i < m && i < n; i++ {
			s += x[i]
		}
		for c := half; c+half < n; c++ {
			if c > half {
				s += x[c+half] - x[c-half-1]
			}
			out[c] = s / float64(m)
		}
		return out
	}
	half := m / 2
	// window for centre c: 0.5*x[c-half] + x[c-half+1..c+half-1] + 0.5*x[c+half]
	inner := 0.0
	for i := 1; i < m && i < n; i++ {
		inner += x[i]
	}
	for c := half; c+half < n; c++ {
		if c > half {
			inner += x[c+half-1] - x[c-half]
		}
		out[c] = (inner + 0.5*x[c-half] + 0.5*x[c+half]) / float64(m)
	}
	return out
}

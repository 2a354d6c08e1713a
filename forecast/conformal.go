package forecast

import (
	"math"
	"sort"
)

// Quantiles are the forecast quantiles for one future step: each is the
// value the actual is expected to stay at or below with probability 50%,
// 90% and 99% (and 95%). They are finite and non-decreasing (P90 ≤ P95 ≤ P99).
type Quantiles struct {
	P50, P90, P99 float64
	// P95 is calibrated like the others (exceeded 5% of the time); the
	// memory bid of a standard service reaches it (bidrule.ClassTop).
	P95 float64
}

// Calibrator turns point forecasts into quantiles by split-conformal
// prediction per horizon step: it keeps the most recent signed
// out-of-sample errors (actual - forecast) for each step and shifts the
// point forecast by their finite-sample-corrected empirical quantiles.
// Steps with few errors borrow those of neighbouring steps; with almost none
// it falls back to a random-walk spread from FallbackScale.
type Calibrator struct {
	window int
	res    [][]float64 // per step ring buffers
	next   []int       // next write position per step
	// FallbackScale is a typical one-step absolute change of the series,
	// used when too few errors are known.
	FallbackScale float64
}

// Minimum errors per step before borrowing from neighbouring steps (at
// most maxBorrow on each side; beyond that all steps are pooled).
const (
	minCalib  = 100
	maxBorrow = 16
)

// NewCalibrator keeps up to window errors per step for h steps.
func NewCalibrator(h, window int) *Calibrator {
	if window < 10 {
		window = 10
	}
	return &Calibrator{window: window, res: make([][]float64, h), next: make([]int, h)}
}

// Horizon returns the number of steps calibrated.
func (c *Calibrator) Horizon() int { return len(c.res) }

// Add records the error of a forecast made step+1 steps ahead (step is
// 0-based). Non-finite errors are ignored.
func (c *Calibrator) Add(step int, r float64) {
	if step < 0 || step >= len(c.res) || !isFinite(r) {
		return
	}
	if len(c.res[step]) < c.window {
		c.res[step] = append(c.res[step], r)
		return
	}
	c.res[step][c.next[step]] = r
	c.next[step] = (c.next[step] + 1) % c.window
}

// Seed adds backtest errors per step (oldest first).
func (c *Calibrator) Seed(res [][]float64) {
	for k, rs := range res {
		for _, r := range rs {
			c.Add(k, r)
		}
	}
}

// Count returns the number of errors held for a step.
func (c *Calibrator) Count(step int) int {
	if step < 0 || step >= len(c.res) {
		return 0
	}
	return len(c.res[step])
}

// Offsets returns, per step, the shifts (q50, q90, q99, q95) to add to a
// point forecast.
func (c *Calibrator) Offsets() [][4]float64 { return c.OffsetsAt(0.9, 0.99) }

// OffsetsAt is Offsets with the upper quantile levels given (adaptive
// conformal inference moves them to keep long-run coverage on target).
func (c *Calibrator) OffsetsAt(l90, l99 float64) [][4]float64 {
	h := len(c.res)
	out := make([][4]float64, h)
	total := 0
	for _, r := range c.res {
		total += len(r)
	}
	var global []float64 // all errors, for steps whose neighbourhood has too few
	for k := 0; k < h; k++ {
		if total < 10 {
			s := c.FallbackScale * math.Sqrt(float64(k+1))
			out[k] = [4]float64{0, 1.2816 * s, 2.3263 * s, 1.6449 * s}
			continue
		}
		pool := append([]float64(nil), c.res[k]...)
		for w := 1; len(pool) < minCalib && w <= maxBorrow; w++ {
			if k-w >= 0 {
				pool = append(pool, c.res[k-w]...)
			}
			if k+w < h {
				pool = append(pool, c.res[k+w]...)
			}
		}
		if len(pool) < minCalib {
			if global == nil {
				for _, r := range c.res {
					global = append(global, r...)
				}
				sort.Float64s(global)
			}
			pool = global
		} else {
			sort.Float64s(pool)
		}
		out[k] = [4]float64{
			conformalQuantile(pool, 0.5),
			conformalQuantile(pool, l90),
			conformalQuantile(pool, l99),
			conformalQuantile(pool, l95(l90, l99)),
		}
	}
	return out
}

// conformalQuantile is the ceil((n+1)q)-th smallest of sorted x, or the
// largest when that rank exceeds n.
func conformalQuantile(x []float64, q float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	r := int(math.Ceil(float64(n+1)*q)) - 1
	if r >= n {
		r = n - 1
	}
	if r < 0 {
		r = 0
	}
	return x[r]
}

// Apply builds quantiles from point forecasts and offsets, clamping at
// floor when nonNeg and forcing P50 <= P90 <= P99 and finiteness.
func Apply(point []float64, off [][4]float64, nonNeg bool) []Quantiles {
	out := make([]Quantiles, len(point))
	for k, p := range point {
		var o [4]float64
		if k < len(off) {
			o = off[k]
		} else if len(off) > 0 {
			o = off[len(off)-1]
		}
		q := Quantiles{P50: clampFinite(p + o[0]), P90: clampFinite(p + o[1]), P99: clampFinite(p + o[2]), P95: clampFinite(p + o[3])}
		if nonNeg {
			q.P50 = math.Max(q.P50, 0)
			q.P90 = math.Max(q.P90, 0)
			q.P99 = math.Max(q.P99, 0)
		}
		q.P90 = math.Max(q.P90, q.P50)
		q.P99 = math.Max(q.P99, q.P90)
		q.P95 = math.Min(math.Max(q.P95, q.P90), q.P99)
		out[k] = q
	}
	return out
}

// l95 is the level of the p95 offset given the adaptive levels of p90 and
// p99: 0.95 moved by the mean of their moves.
func l95(l90, l99 float64) float64 {
	return math.Min(math.Max(0.95+((l90-0.9)+(l99-0.99))/2, 0.9), 0.999)
}

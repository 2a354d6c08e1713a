package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Split-conformal quantiles on exchangeable errors cover at their level.
func TestCalibratorCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := NewCalibrator(3, 2000)
	for i := 0; i < 2000; i++ {
		for k := 0; k < 3; k++ {
			c.Add(k, r.ExpFloat64()*float64(k+1)) // skewed, widening with k
		}
	}
	off := c.Offsets()
	for k := 0; k < 3; k++ {
		var b50, b90, b99 int
		const n = 20000
		for i := 0; i < n; i++ {
			e := r.ExpFloat64() * float64(k+1)
			if e <= off[k][0] {
				b50++
			}
			if e <= off[k][1] {
				b90++
			}
			if e <= off[k][2] {
				b99++
			}
		}
		for _, c := range []struct{ got, want, tol float64 }{
			{float64(b50) / n, 0.5, 0.03}, {float64(b90) / n, 0.9, 0.02}, {float64(b99) / n, 0.99, 0.006},
		} {
			if math.Abs(c.got-c.want) > c.tol {
				t.Errorf("step %d: coverage %.3f want %.2f", k, c.got, c.want)
			}
		}
	}
}

func TestCalibratorFallbackAndPooling(t *testing.T) {
	c := NewCalibrator(4, 100)
	c.FallbackScale = 2
	off := c.Offsets()
	if off[0][0] != 0 || off[0][1] <= 0 || off[3][2] <= off[0][2] {
		t.Errorf("fallback offsets %v", off)
	}
	for i := 0; i < 50; i++ {
		c.Add(0, float64(i))
	}
	c.Add(-1, 1)
	c.Add(9, 1)
	c.Add(1, math.NaN())
	off = c.Offsets()
	if off[3][1] == 0 {
		t.Errorf("step without errors did not borrow from neighbours: %v", off)
	}
}

func TestApplyMonotoneNonNegative(t *testing.T) {
	q := Apply([]float64{-5, 3, math.Inf(1)}, [][4]float64{{1, -2, 0}}, true)
	for i, v := range q {
		if v.P50 < 0 || v.P90 < v.P50 || v.P99 < v.P90 || !isFinite(v.P99) {
			t.Errorf("step %d: %+v", i, v)
		}
	}
}

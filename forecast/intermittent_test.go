package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSMedianIgnoresSpikes(t *testing.T) {
	const p = 24
	y := make([]float64, 10*p)
	for i := range y {
		y[i] = float64(i % p)
		if i%p == 5 && i/p == 9 {
			y[i] = 1000 // one spike, on the last day
		}
	}
	m := NewSMedian(p, 7, 1)
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	f, err := m.Forecast(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range f {
		want := float64(i % p)
		// the window ±1 step mixes in neighbours; the median of a ramp is the centre
		if i%p != 0 && i%p != p-1 && v != want {
			t.Errorf("step %d: %v, want %v", i, v, want)
		}
	}
	s := NewSNaive(p)
	_ = s.Fit(y)
	sf, _ := s.Forecast(p)
	if sf[5] != 1000 {
		t.Fatalf("seasonal naive should repeat the spike, got %v", sf[5])
	}
	// short history: the median of the last few observations
	short := NewSMedian(p, 7, 1)
	_ = short.Fit([]float64{1, 9, 2})
	if f, _ := short.Forecast(2); f[0] != 2 || f[1] != 2 {
		t.Errorf("short history forecast %v, want the median 2", f)
	}
}

func TestTSB(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	y := make([]float64, 5000)
	for i := range y {
		if rng.Float64() < 0.1 {
			y[i] = 50
		}
	}
	m := NewTSB(0.1, 0.05)
	if err := m.Fit(y); err != nil {
		t.Fatal(err)
	}
	f, _ := m.Forecast(3)
	if f[0] < 2 || f[0] > 9 || f[0] != f[2] {
		t.Errorf("forecast %v, want flat near 0.1 × 50 = 5", f)
	}
	for range 200 {
		m.Update(0) // a long idle stretch: the probability decays
	}
	if g, _ := m.Forecast(1); g[0] > 0.01 {
		t.Errorf("after 200 idle steps the forecast is %v, want about 0", g[0])
	}
	if zs := zeroShare(y); math.Abs(zs-0.9) > 0.02 {
		t.Errorf("zero share %v", zs)
	}
}

// TestGuardFallsBack: on pure noise around a daily profile the elaborate
// candidates have nothing to find; whatever Auto picks, it must not be
// worse out of sample than the best of the baselines, and where it falls
// back its label names a baseline.
func TestGuardFallsBack(t *testing.T) {
	const p = 24
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float64, 20*p)
	for i := range y {
		y[i] = 10 + 5*math.Sin(2*math.Pi*float64(i)/p) + 3*rng.NormFloat64()
		if rng.Float64() < 0.03 {
			y[i] += 40 * rng.Float64() // spikes
		}
	}
	spec := Spec{Periods: []int{p}, Horizon: 6}
	a := NewAuto(AutoConfig{Spec: spec})
	if err := a.Fit(y); err != nil {
		t.Fatal(err)
	}
	b := NewAuto(AutoConfig{Spec: spec, NoGuard: true})
	if err := b.Fit(y); err != nil {
		t.Fatal(err)
	}
	if meanAbs(a.Residuals()) > meanAbs(b.Residuals())+1e-9 {
		t.Errorf("guarded cross-fitted error %v above the unguarded %v", meanAbs(a.Residuals()), meanAbs(b.Residuals()))
	}
	t.Logf("guarded: %s, unguarded: %s", a.Name(), b.Name())
}

package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
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

// TestRegimeCalibration: on bursts (5% of steps start one, mean length 5),
// a forecast from an idle origin keeps p90 at zero while one from inside a
// burst covers the burst; overall coverage stays near the targets.
func TestRegimeCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	o, err := NewOnline(Config{Interval: 5 * 60e9, Horizon: 2, Model: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	burst := 0
	var idle90, busy90 []float64
	var prev []Quantiles // the forecast made at the last step, and its origin's regime
	prevBusy := false
	busyHit, busyN := 0, 0
	for i := range 6 * 288 {
		v := 0.0
		if burst == 0 && rng.Float64() < 0.02 {
			burst = 1 + rng.IntN(9)
		}
		if burst > 0 {
			v = 40 + 10*rng.Float64()
			burst--
		}
		if prev != nil && prevBusy {
			busyN++
			if v <= prev[0].P90 {
				busyHit++
			}
		}
		o.Observe(t0.Add(time.Duration(i)*5*time.Minute), v)
		if i < 4*288 {
			continue
		}
		q, err := o.Forecast()
		if err != nil {
			t.Fatal(err)
		}
		prev, prevBusy = q, v != 0
		if v == 0 {
			idle90 = append(idle90, q[0].P90)
		} else {
			busy90 = append(busy90, q[0].P90)
		}
	}
	if m := median(idle90); m > 1 {
		t.Errorf("median p90 from idle origins %v, want 0", m)
	}
	if m := median(busy90); m < 30 {
		t.Errorf("median p90 from busy origins %v, want a burst's size (40-50)", m)
	}
	if c := o.Metrics().CoverageP90; c < 0.85 || c > 0.97 {
		t.Errorf("p90 coverage %v", c)
	}
	// forecasts from inside a burst keep their own coverage (per-regime
	// adaptive levels; with shared levels it fell to about 0.6)
	if c := float64(busyHit) / float64(busyN); busyN < 30 || c < 0.8 {
		t.Errorf("p90 coverage from busy origins %v over %d, want ≥ 0.8", c, busyN)
	}
}

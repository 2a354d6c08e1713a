package forecast

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func checkQuantiles(t *testing.T, q []Quantiles, h int) {
	t.Helper()
	if len(q) != h {
		t.Fatalf("got %d steps, want %d", len(q), h)
	}
	for i, v := range q {
		if !isFinite(v.P50) || !isFinite(v.P90) || !isFinite(v.P99) || v.P50 > v.P90 || v.P90 > v.P99 {
			t.Fatalf("step %d: bad quantiles %+v", i, v)
		}
	}
}

func TestNewOnlineConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{Interval: 5 * time.Minute, Horizon: 12, Model: "auto"}, true},
		{"default model", Config{Interval: time.Minute, Horizon: 1}, true},
		{"named model", Config{Interval: time.Hour, Horizon: 48, Model: "ets"}, true},
		{"zero interval", Config{Horizon: 12}, false},
		{"zero horizon", Config{Interval: time.Minute}, false},
		{"unknown model", Config{Interval: time.Minute, Horizon: 3, Model: "oracle"}, false},
		{"tiny history", Config{Interval: time.Minute, Horizon: 3, MaxHistory: 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewOnline(c.cfg)
			if (err == nil) != c.ok {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// On a daily-seasonal 5-minute series with noise the online forecaster
// calibrates its quantiles and beats the seasonal naive error.
func TestOnlineCalibrates(t *testing.T) {
	const p = 288
	y := noisy(seasonal(8*p, p, 50, 20, 0), 2, 5)
	o, err := NewOnline(Config{Interval: 5 * time.Minute, Horizon: 12, Model: "auto", MaxHistory: 3 * p, RefitEvery: 2 * p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Forecast(); !errors.Is(err, ErrEmpty) {
		t.Errorf("forecast before data: %v", err)
	}
	for i, v := range y {
		o.Observe(t0.Add(time.Duration(i)*5*time.Minute), v)
	}
	q, err := o.Forecast()
	if err != nil {
		t.Fatal(err)
	}
	checkQuantiles(t, q, 12)
	m := o.Metrics()
	if m.N < 1000 || m.CoverageP90 < 0.85 || m.CoverageP90 > 0.95 || m.CoverageP99 < 0.97 {
		t.Errorf("metrics %+v", m)
	}
	if m.MASE > 0.95 { // seasonal naive scores about 1 here
		t.Errorf("MASE %g too high for a clean seasonal series (model %s)", m.MASE, o.ModelName())
	}
}

// Gaps, jitter, duplicates, out-of-order points, NaN and huge values never
// break the forecaster.
func TestOnlineMessyInput(t *testing.T) {
	o, err := NewOnline(Config{Interval: 5 * time.Minute, Horizon: 6, Model: "auto", MaxHistory: 600})
	if err != nil {
		t.Fatal(err)
	}
	step := 5 * time.Minute
	at := t0
	for i := 0; i < 1500; i++ {
		v := 10 + 5*math.Sin(float64(i)/20)
		switch {
		case i%97 == 0:
			v = math.NaN()
		case i%131 == 0:
			v = 1e300
		case i%53 == 0:
			v = 1e4 // outlier
		case i == 700:
			at = at.Add(3 * time.Hour) // gap
		case i == 900:
			at = at.Add(30 * 24 * time.Hour) // outage: restart
		}
		jitter := time.Duration(i%3-1) * 40 * time.Second
		o.Observe(at.Add(jitter), v)
		if i%50 == 0 {
			o.Observe(at, v+1)               // duplicate timestamp
			o.Observe(at.Add(-time.Hour), v) // out of order
		}
		if i%100 == 1 {
			q, err := o.Forecast()
			if err != nil {
				t.Fatalf("i=%d: %v", i, err)
			}
			checkQuantiles(t, q, 6)
		}
		at = at.Add(step)
	}
	m := o.Metrics()
	if m.Dropped == 0 || !isFinite(m.MASE) {
		t.Errorf("metrics %+v", m)
	}
}

// Level shifts are absorbed: after the shift the forecast follows the new
// level.
func TestOnlineLevelShift(t *testing.T) {
	o, _ := NewOnline(Config{Interval: time.Hour, Horizon: 4, Model: "auto"})
	y := noisy(seasonal(24*20, 24, 100, 10, 0), 1, 3)
	for i := range y {
		if i >= 24*15 {
			y[i] += 200
		}
		o.Observe(t0.Add(time.Duration(i)*time.Hour), y[i])
	}
	q, _ := o.Forecast()
	if q[0].P50 < 250 {
		t.Errorf("forecast %v ignores the level shift (model %s)", q[0], o.ModelName())
	}
	if o.Metrics().LevelShifts == 0 {
		t.Error("level shift not detected")
	}
}

// Every model name works through the online API on a short history.
func TestOnlineEveryModel(t *testing.T) {
	for _, name := range ModelNames() {
		o, err := NewOnline(Config{Interval: time.Hour, Horizon: 5, Model: name})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			o.Observe(t0.Add(time.Duration(i)*time.Hour), float64(i%24))
			q, err := o.Forecast()
			if err != nil {
				t.Fatalf("%s at %d: %v", name, i, err)
			}
			checkQuantiles(t, q, 5)
		}
	}
}

// A long horizon stays cheap in memory and time.
func TestOnlineLongHorizon(t *testing.T) {
	if _, err := NewOnline(Config{Interval: time.Minute, Horizon: MaxHorizon + 1}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("horizon beyond MaxHorizon: %v", err)
	}
	o, err := NewOnline(Config{Interval: time.Minute, Horizon: 800, MaxHistory: 800, Model: "snaive"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 900; i++ {
		o.Observe(t0.Add(time.Duration(i)*time.Minute), float64(i%60))
	}
	q, err := o.Forecast()
	if err != nil {
		t.Fatal(err)
	}
	checkQuantiles(t, q, 800)
	if len(o.ring) > 800/2+1 { // stride 2
		t.Errorf("%d pending forecasts kept", len(o.ring))
	}
}

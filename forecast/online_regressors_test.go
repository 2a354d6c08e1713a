package forecast

import (
	"math"
	"testing"
	"time"
)

// An external regressor known in advance (e.g. a weather forecast) and a
// recurring event drive the Prophet-style forecast through Online.
func TestOnlineRegressorsAndEvents(t *testing.T) {
	const n, h = 600, 6
	iv := time.Hour
	x := func(i int) float64 { return float64((i*7)%13) - 6 }
	y := func(i int) float64 {
		v := 100 + 3*x(i)
		if i%100 >= 50 && i%100 < 53 {
			v += 40 // "sale" event
		}
		return v
	}
	o, err := NewOnline(Config{Interval: iv, Horizon: h, Model: "prophet", RefitEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n+h; i++ {
		at := t0.Add(time.Duration(i) * iv)
		o.ObserveRegressor("temp", at.Add(10*time.Second), x(i)) // jitter is rounded away
		if i%100 == 50 {
			o.AddEvent("sale", at, at.Add(3*iv))
		}
	}
	o.ObserveRegressor("temp", t0, math.NaN()) // ignored
	o.AddEvent("bad", t0, t0)                  // ignored: empty window
	for i := 0; i < n; i++ {
		o.Observe(t0.Add(time.Duration(i)*iv), y(i))
	}
	q, err := o.Forecast()
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < h; k++ {
		want := y(n + k)
		if math.Abs(q[k].P50-want) > 1.5 {
			t.Errorf("step %d: P50 %.2f want %.2f", k, q[k].P50, want)
		}
	}
}

func TestBindRegressorFill(t *testing.T) {
	iv := time.Minute
	s := map[int64]float64{
		t0.Add(2 * iv).UnixNano():  5,
		t0.Add(4 * iv).UnixNano():  7,
		t0.Add(99 * iv).UnixNano(): 1, // beyond the range
	}
	got := bindRegressor(s, t0, iv, 6)
	want := []float64{5, 5, 5, 5, 7, 7}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if bindRegressor(map[int64]float64{t0.Add(-time.Hour).UnixNano(): 1}, t0, iv, 3) != nil {
		t.Error("regressor without samples in range was bound")
	}
}

func TestExternalsPruned(t *testing.T) {
	o, _ := NewOnline(Config{Interval: time.Minute, Horizon: 2, MaxHistory: 10})
	for i := 0; i < 20; i++ {
		o.Observe(t0.Add(time.Duration(i)*time.Minute), 1)
	}
	for i := 0; i < maxExternal; i++ {
		o.ObserveRegressor("x", t0.Add(time.Duration(i-maxExternal)*time.Second), 1)
	}
	o.AddEvent("old", t0.Add(-time.Hour), t0.Add(-time.Minute))
	o.ObserveRegressor("x", t0.Add(time.Hour), 2) // triggers pruning
	if n := len(o.ext.regs["x"]); n != 1 {
		t.Errorf("%d samples kept, want 1", n)
	}
	if len(o.ext.events) != 0 {
		t.Errorf("events not pruned: %v", o.ext.events)
	}
}

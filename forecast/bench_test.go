package forecast

import (
	"testing"
	"time"
)

// BenchmarkFitForecast2016 fits and forecasts one week of 5-minute data
// (2016 points, h=12) with each model.
func BenchmarkFitForecast2016(b *testing.B) {
	y := noisy(seasonal(2016, 288, 50, 20, 0.001), 2, 9)
	spec := Spec{Periods: []int{288, 2016}, Horizon: 12}
	for _, name := range []string{"snaive", "naive2", "ets", "mstl", "prophet", "auto"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Predict(name, spec, y, 12); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOnlineObserve is the per-epoch cost of one series: one
// observation (with the amortised refit) and one Forecast.
func BenchmarkOnlineObserve(b *testing.B) {
	y := noisy(seasonal(4032, 288, 50, 20, 0), 2, 9)
	o, _ := NewOnline(Config{Interval: 5 * time.Minute, Horizon: 12, Model: "auto"})
	at := time.Unix(0, 0)
	for i, v := range y {
		o.Observe(at.Add(time.Duration(i)*5*time.Minute), v)
	}
	i := len(y)
	b.ResetTimer()
	for b.Loop() {
		o.Observe(at.Add(time.Duration(i)*5*time.Minute), y[i%len(y)])
		if _, err := o.Forecast(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOnlineWarmup feeds two weeks of 5-minute data (4032 points,
// h=1, MaxHistory 4032) into a fresh forecaster, as the demo does at start.
func BenchmarkOnlineWarmup(b *testing.B) {
	y := noisy(seasonal(4032, 288, 50, 20, 0), 2, 9)
	at := time.Unix(0, 0)
	for b.Loop() {
		o, _ := NewOnline(Config{Interval: 5 * time.Minute, Horizon: 1, Model: "auto", MaxHistory: 4032})
		for i, v := range y {
			o.Observe(at.Add(time.Duration(i)*5*time.Minute), v)
		}
		if _, err := o.Forecast(); err != nil {
			b.Fatal(err)
		}
	}
}

package forecast

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestPredictBadInput(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name    string
		y       []float64
		wantErr error
	}{
		{"empty", nil, ErrEmpty},
		{"all NaN", []float64{nan, nan, math.Inf(1)}, ErrNoFinite},
		{"huge", []float64{1, 2, 1e300}, ErrTooLarge},
		{"single", []float64{3}, nil},
		{"two", []float64{3, 4}, nil},
		{"constant", []float64{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, nil},
		{"negative", seasonal(200, 24, -50, 10, 0), nil},
		{"zeros", make([]float64, 100), nil},
		{"some NaN", []float64{1, nan, 3, 4, nan, 6, 7, 8, 9, 10}, nil},
		{"large but allowed", seasonal(100, 24, 1e14, 1e13, 0), nil},
	}
	for _, c := range cases {
		for _, model := range ModelNames() {
			t.Run(c.name+"/"+model, func(t *testing.T) {
				p, err := Predict(model, Spec{Periods: []int{24, 168}}, c.y, 12)
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("err %v, want %v", err, c.wantErr)
					}
					return
				}
				if err != nil {
					if errors.Is(err, ErrTooShort) {
						return // documented: model needs more history
					}
					t.Fatalf("err %v", err)
				}
				if !allFinite(p.Point) {
					t.Fatalf("non-finite point %v", p.Point)
				}
				checkQuantiles(t, p.Quantiles, 12)
				if c.name == "constant" && (p.Point[0] != 7 || p.Quantiles[0].P99 != 7) {
					t.Errorf("constant series: %v %+v", p.Point[0], p.Quantiles[0])
				}
			})
		}
	}
}

func TestPredictBadHorizon(t *testing.T) {
	if _, err := Predict("naive", Spec{}, []float64{1, 2}, 0); !errors.Is(err, ErrBadConfig) {
		t.Errorf("err %v", err)
	}
}

// Auto never fails on a usable series of any length.
func TestAutoFallbackNeverFails(t *testing.T) {
	for n := 1; n < 60; n += 7 {
		p, err := Predict("auto", Spec{Periods: []int{24, 168}}, seasonal(n, 24, 3, 1, 0), 48)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		checkQuantiles(t, p.Quantiles, 48)
	}
}

func TestRegularize(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	times := []time.Time{at(0), at(5), at(11), at(11), at(25), at(20), at(30)}
	vals := []float64{1, 2, 3, 5, 6, math.NaN(), 7}
	start, y, err := Regularize(times, vals, 5*time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 2, 4, 14.0 / 3, 16.0 / 3, 6, 7}
	if !start.Equal(t0) || len(y) != len(want) {
		t.Fatalf("start %v y %v", start, y)
	}
	for i := range want {
		if math.Abs(y[i]-want[i]) > 1e-9 {
			t.Fatalf("y %v want %v", y, want)
		}
	}
	if _, _, err := Regularize(times, []float64{math.NaN(), 0, 0, 0, 0, 0, 0}[:1], time.Minute, 10); !errors.Is(err, ErrBadConfig) {
		t.Errorf("length mismatch: %v", err)
	}
	if _, _, err := Regularize([]time.Time{at(0), at(100000)}, []float64{1, 2}, time.Minute, 1000); !errors.Is(err, ErrBadConfig) {
		t.Errorf("grid too large: %v", err)
	}
}

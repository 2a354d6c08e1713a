package forecast

import (
	"math"
	"testing"
)

func TestScores(t *testing.T) {
	cases := []struct {
		name             string
		in, act, fc      []float64
		m                int
		wantSMAPE, wantM float64
	}{
		{"perfect", []float64{1, 2, 3, 4}, []float64{5, 6}, []float64{5, 6}, 1, 0, 0},
		// |10-5|*200/15 = 66.667; scale mean|diff| = 1; mae 5
		{"half", []float64{1, 2, 3}, []float64{10}, []float64{5}, 1, 200.0 / 3, 5},
		// seasonal scale m=2: diffs |3-1|,|4-2| = 2 -> mae 1 / 2
		{"seasonal", []float64{1, 2, 3, 4}, []float64{5, 6}, []float64{4, 7}, 2, 100 * (1.0/9 + 1.0/13), 0.5},
		// both zero contributes 0 to sMAPE; constant history -> scale 1 fallback
		{"zeros", []float64{0, 0, 0}, []float64{0, 1}, []float64{0, 0}, 1, 100, 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SMAPE(c.act, c.fc); math.Abs(got-c.wantSMAPE) > 1e-9 {
				t.Errorf("sMAPE %g want %g", got, c.wantSMAPE)
			}
			if got := MASE(c.in, c.act, c.fc, c.m); math.Abs(got-c.wantM) > 1e-9 {
				t.Errorf("MASE %g want %g", got, c.wantM)
			}
		})
	}
	if got, ok := OWA(9, 1, 18, 2); got != 0.5 || !ok {
		t.Errorf("OWA %g %v", got, ok)
	}
	if _, ok := OWA(9, 1, 0, 2); ok {
		t.Error("OWA defined against a zero Naive2")
	}
}

// The centred 2x24 moving average and multiplicative indices match a
// hand-computed case.
func TestMultiplicativeIndices(t *testing.T) {
	const m = 4
	pattern := []float64{0.5, 1.5, 1.2, 0.8}
	y := make([]float64, 40)
	for i := range y {
		y[i] = 100 * pattern[i%m]
	}
	idx := MultiplicativeIndices(y, m)
	for i := range idx {
		if math.Abs(idx[i]-pattern[i]) > 1e-12 {
			t.Fatalf("indices %v want %v", idx, pattern)
		}
	}
	ma := centredMA([]float64{1, 2, 3, 4, 5, 6}, 4)
	if !math.IsNaN(ma[1]) || ma[2] != 3 || ma[3] != 4 || !math.IsNaN(ma[4]) {
		t.Errorf("centredMA %v", ma)
	}
	if MultiplicativeIndices([]float64{1, -1, 2, 3, 1, 2, 3, 4}, 2) != nil {
		t.Error("indices for non-positive data")
	}
}

package baseline

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func TestStaticLevel(t *testing.T) {
	for _, tc := range []struct {
		h    []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{0, 10}, 9.5},
		{[]float64{5, 1, 3, 2, 4}, 4.8}, // order does not matter
	} {
		if got := StaticLevel(tc.h); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("StaticLevel(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestFit(t *testing.T) {
	c := [bidding.NumResources]float64{1000, 0, 0, 0}
	for _, tc := range []struct {
		name string
		req  [][bidding.NumResources]float64
		want []int64 // cpu of each
	}{
		{"under capacity: as asked", [][bidding.NumResources]float64{{300}, {400.7}}, []int64{300, 400}},
		{"over: in proportion", [][bidding.NumResources]float64{{1500}, {500}}, []int64{750, 250}},
		{"negative counts as 0", [][bidding.NumResources]float64{{-5}, {2000}}, []int64{0, 1000}},
	} {
		got := Fit(tc.req, c)
		for i, w := range tc.want {
			if got[i][bidding.CPU] != w {
				t.Errorf("%s: Fit = %v, want cpu %v", tc.name, got, tc.want)
			}
		}
	}
	// unknown capacity (0) leaves memory as asked
	if got := Fit([][bidding.NumResources]float64{{0, 5e9}}, c); got[0][bidding.Memory] != 5e9 {
		t.Errorf("memory %d", got[0][bidding.Memory])
	}
}

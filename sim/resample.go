package sim

import (
	"sort"
	"time"
)

// resample puts (seconds, value) pairs onto a regular grid of step starting
// at the first time: pairs are sorted by time (stable), duplicate times are
// averaged, and grid points between samples are linearly interpolated.
func resample(ts, vs []float64, step time.Duration) ([]float64, time.Duration) {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ts[idx[a]] < ts[idx[b]] })
	var t, v []float64
	for k := 0; k < len(idx); {
		j, sum := k, 0.0
		for j < len(idx) && ts[idx[j]] == ts[idx[k]] {
			sum += vs[idx[j]]
			j++
		}
		t = append(t, ts[idx[k]])
		v = append(v, sum/float64(j-k))
		k = j
	}
	if len(t) < 2 {
		return v, step
	}
	sec := step.Seconds()
	n := int((t[len(t)-1]-t[0])/sec) + 1
	out := make([]float64, n)
	j := 0
	for k := range out {
		x := t[0] + float64(k)*sec
		for j+1 < len(t)-1 && t[j+1] < x {
			j++
		}
		a, b := t[j], t[j+1]
		switch {
		case x <= a:
			out[k] = v[j]
		case x >= b:
			out[k] = v[j+1]
		default:
			out[k] = v[j] + (v[j+1]-v[j])*(x-a)/(b-a)
		}
	}
	return out, step
}

// regrid linearly interpolates a series sampled every from onto a grid of to.
func regrid(v []float64, from, to time.Duration) []float64 {
	if from == to || len(v) < 2 {
		return v
	}
	ts := make([]float64, len(v))
	for i := range ts {
		ts[i] = float64(i) * from.Seconds()
	}
	out, _ := resample(ts, v, to)
	return out
}

package forecast

import (
	"math"
	"sort"
)

// nelderMead minimises f from x0 with initial step sizes step, for at most
// maxEval evaluations. It is deterministic and never returns NaN: a
// non-finite objective is treated as +Inf.
func nelderMead(f func([]float64) float64, x0, step []float64, maxEval int) ([]float64, float64) {
	d := len(x0)
	eval := func(x []float64) float64 {
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	type vertex struct {
		x []float64
		f float64
	}
	simplex := make([]vertex, d+1)
	simplex[0] = vertex{append([]float64(nil), x0...), eval(x0)}
	for i := 0; i < d; i++ {
		x := append([]float64(nil), x0...)
		x[i] += step[i]
		simplex[i+1] = vertex{x, eval(x)}
	}
	n := d + 1
	centroid := make([]float64, d)
	point := func(c float64, worst []float64) []float64 {
		p := make([]float64, d)
		for i := range p {
			p[i] = centroid[i] + c*(worst[i]-centroid[i])
		}
		return p
	}
	for n < maxEval {
		sort.Slice(simplex, func(i, j int) bool { return simplex[i].f < simplex[j].f })
		if math.Abs(simplex[d].f-simplex[0].f) <= 1e-10*(math.Abs(simplex[0].f)+1e-12) {
			break
		}
		for i := range centroid {
			centroid[i] = 0
			for j := 0; j < d; j++ {
				centroid[i] += simplex[j].x[i]
			}
			centroid[i] /= float64(d)
		}
		worst := simplex[d]
		xr := point(-1, worst.x)
		fr := eval(xr)
		n++
		switch {
		case fr < simplex[0].f:
			xe := point(-2, worst.x)
			fe := eval(xe)
			n++
			if fe < fr {
				simplex[d] = vertex{xe, fe}
			} else {
				simplex[d] = vertex{xr, fr}
			}
		case fr < simplex[d-1].f:
			simplex[d] = vertex{xr, fr}
		default:
			c := 0.5
			if fr < worst.f {
				c = -0.5
			}
			xc := point(c, worst.x)
			fc := eval(xc)
			n++
			if fc < math.Min(fr, worst.f) {
				simplex[d] = vertex{xc, fc}
				continue
			}
			for j := 1; j <= d; j++ {
				for i := range simplex[j].x {
					simplex[j].x[i] = simplex[0].x[i] + 0.5*(simplex[j].x[i]-simplex[0].x[i])
				}
				simplex[j].f = eval(simplex[j].x)
				n++
			}
		}
	}
	sort.Slice(simplex, func(i, j int) bool { return simplex[i].f < simplex[j].f })
	return simplex[0].x, simplex[0].f
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

package sim

import (
	"fmt"

	"github.com/allot-dev/allot/bidding"
)

// Measured is one policy's run as a live experiment measured it, per
// evaluated epoch k and service s (in the World's order): the allocation
// in force, the demand (what the service's processes asked for) and what
// they got. Resources a service does not use are ignored.
type Measured struct {
	Alloc  [][][nr]int64 // [k][s]
	Demand [][][nr]float64
	Got    [][][nr]float64
}

// Score computes a replay's metrics on a measured run of w's services on
// the nodes of contention c, normalised exactly as Replay normalises (each
// series by its p95 over the evaluated window, utility by the nodes'
// effective capacity), so that live and simulated figures compare. Used is
// what the processes got rather than min(allocation, demand): slack is
// Σmax(0, a−got)/Σa and shortfall Σ(demand−min(got, demand))/Σdemand.
// Figures that need the policy's internals (boosts, forecast coverage,
// solve time, the oracle's utility, boost recovery) are left zero.
func Score(w *World, c float64, m Measured) (Metrics, error) {
	if len(m.Alloc) != len(m.Demand) || len(m.Alloc) != len(m.Got) || len(m.Alloc) > w.Steps {
		return Metrics{}, fmt.Errorf("score: %d allocation, %d demand and %d usage epochs for a window of %d", len(m.Alloc), len(m.Demand), len(m.Got), w.Steps)
	}
	eff, err := effectiveCapacities(w.Capacities(c))
	if err != nil {
		return Metrics{}, err
	}
	n := len(w.Svcs)
	has, weight, crit := w.scoring()
	a := newAcc(w.norm, eff)
	for k := range m.Alloc {
		if len(m.Alloc[k]) != n || len(m.Demand[k]) != n || len(m.Got[k]) != n {
			return Metrics{}, fmt.Errorf("score: epoch %d has %d/%d/%d services, want %d", k, len(m.Alloc[k]), len(m.Demand[k]), len(m.Got[k]), n)
		}
		a.epoch(m.Alloc[k], m.Demand[k], m.Got[k], has, weight, crit)
	}
	return a.metrics(), nil
}

// EffectiveCapacities are the nodes' capacities at contention c after the
// solver's reserve and headroom, in w's node order.
func (w *World) EffectiveCapacities(c float64) ([][nr]int64, error) {
	return effectiveCapacities(w.Capacities(c))
}

// Only is w restricted to resource r (the other resources of every service
// are left out), for per-resource figures.
func (w *World) Only(r bidding.Resource) *World {
	c := *w
	c.Svcs = make([]Svc, len(w.Svcs))
	for i, s := range w.Svcs {
		for q := range nr {
			if q != int(r) {
				s.Has[q] = false
			}
		}
		c.Svcs[i] = s
	}
	return &c
}

// scoring is what the metrics need of every service: the resources it
// uses, its class weight and whether it is critical.
func (w *World) scoring() (has [][nr]bool, weight []float64, crit []bool) {
	n := len(w.Svcs)
	has, weight, crit = make([][nr]bool, n), make([]float64, n), make([]bool, n)
	for s, sv := range w.Svcs {
		has[s] = sv.Has
		weight[s] = sv.Def.EffectiveWeight()
		crit[s] = sv.Def.Class == bidding.ClassCritical
	}
	return has, weight, crit
}

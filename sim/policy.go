package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
)

// Policy names, in report order.
const (
	PolicyStatic       = "static"
	PolicyReactive     = "reactive"
	PolicyReactiveLag  = "reactive-lag"
	PolicyVPA          = "vpa"
	PolicyAllot        = "allot"
	PolicyAllotNoFair  = "allot-nofair"
	PolicyAllotNoBoost = "allot-noboost"
	PolicyOracle       = "oracle"
)

// AllPolicies lists every policy in report order.
func AllPolicies() []string {
	return []string{PolicyStatic, PolicyReactive, PolicyReactiveLag, PolicyVPA, PolicyAllot, PolicyAllotNoFair, PolicyAllotNoBoost, PolicyOracle}
}

// policy decides each evaluated epoch's allocations. allocate(k) may read
// demand up to evaluated epoch k−1 (the oracle alone reads epoch k);
// observe(k, served) reports what happened in epoch k.
type policy interface {
	allocate(k int) ([][nr]int64, error)
	observe(k int, served []float64)
	stats() (boosts int, solveMS float64)
}

// env is what every policy of one run shares (read-only, but for alloc,
// which the replay appends to).
type env struct {
	w     *World
	f     *Forecasts
	nodes []bidding.Node // raw capacities
	eff   [][nr]int64    // effective capacities (after the solver's headroom)
	obs   string         // ObserveDemand, ObserveCapped or ObserveClient
	alloc [][][nr]int64  // the run's allocation of every evaluated epoch so far
	// borrow: the policy's client lets memory be borrowed above its
	// allocation (Kernel); kills is who was OOM-killed in each evaluated
	// epoch so far, which is then what reads as memory pressure.
	borrow bool
	kills  [][]bool
}

func newPolicy(name string, e *env) (policy, error) {
	switch name {
	case PolicyStatic:
		return newStatic(e), nil
	case PolicyReactive:
		return &reactive{e: e, lag: 1}, nil
	case PolicyReactiveLag:
		return &reactive{e: e, lag: Lag}, nil
	case PolicyVPA:
		return newVPA(e), nil
	case PolicyAllot:
		return newLiveAllot(e, allotCfg{fair: true, boost: true})
	case PolicyAllotNoFair:
		return newLiveAllot(e, allotCfg{fair: false, boost: true})
	case PolicyAllotNoBoost:
		return newLiveAllot(e, allotCfg{fair: true, boost: false})
	case PolicyOracle:
		return newAllot(e, allotCfg{oracle: true}), nil
	}
	return nil, fmt.Errorf("unknown policy %q (allowed: %s)", name, strings.Join(AllPolicies(), ", "))
}

// record keeps evaluated epoch k's allocation (called in epoch order, before
// the policy observes epoch k).
func (e *env) record(alloc [][nr]int64) { e.alloc = append(e.alloc, slices.Clone(alloc)) }

// recordKills keeps who kern OOM-killed in the epoch just served, for a
// policy that borrows memory.
func (e *env) recordKills(kern *Kernel) {
	if !e.borrow {
		return
	}
	k := make([]bool, len(e.w.Svcs))
	for s := range k {
		k[s] = kern.Killed(s)
	}
	e.kills = append(e.kills, k)
}

// reading is what a controller measured of service s's resource r at
// absolute epoch i (< Warmup+k): the demand before the replay (no
// allocation held it back then), else read under the run's allocation.
// Borrowed memory reads as its demand, pressed only where the kernel
// killed the service (restarted, it is at most its allocation again).
func (e *env) reading(s, r, i int) reading {
	d := e.w.Svcs[s].Demand[r][i]
	k := i - e.w.Warmup
	if k < 0 {
		return reading{Usage: d}
	}
	a := float64(e.alloc[k][s][r])
	if e.borrow && r == int(bidding.Memory) && a > 0 {
		if k < len(e.kills) && e.kills[k][s] {
			return reading{Usage: math.Min(d, a), Pressed: true}
		}
		return reading{Usage: d}
	}
	return read(r, d, a)
}

// observed is service s's usage of r at absolute epoch i (< Warmup+k).
func (e *env) observed(s, r, i int) float64 { return e.reading(s, r, i).Usage }

// fit turns per-service requests into allocations that fit every node:
// baseline.Fit per node, against its effective capacity (a real node must
// fit them; none of the baselines carries a priority).
func (e *env) fit(req [][nr]float64) [][nr]int64 {
	out := make([][nr]int64, len(req))
	for n := range e.eff {
		var idx []int
		var reqs [][nr]float64
		for s, q := range req {
			if e.w.Svcs[s].Node != n {
				continue
			}
			for r := range nr {
				if !e.w.Svcs[s].Has[r] {
					q[r] = 0
				}
			}
			idx, reqs = append(idx, s), append(reqs, q)
		}
		var c [nr]float64
		for r := range nr {
			c[r] = float64(e.eff[n][r])
		}
		for i, v := range baseline.Fit(reqs, c) {
			out[idx[i]] = v
		}
	}
	return out
}

// static sizes every service once, by hand, at baseline.StaticLevel of its
// history (the rule a client with policy "static" enforces).
type static struct {
	e   *env
	req [][nr]float64
}

func newStatic(e *env) *static {
	p := &static{e: e, req: make([][nr]float64, len(e.w.Svcs))}
	for s, sv := range e.w.Svcs {
		for r := range nr {
			if sv.Has[r] && e.w.Warmup > 0 {
				p.req[s][r] = baseline.StaticLevel(sv.Demand[r][:e.w.Warmup])
			}
		}
	}
	return p
}

func (p *static) allocate(k int) ([][nr]int64, error) {
	if p.e.w.Warmup == 0 && k == 0 {
		return p.e.fit(p.req), nil
	}
	if p.e.w.Warmup == 0 && k == 1 { // no history: size from the first epoch
		for s, sv := range p.e.w.Svcs {
			for r := range nr {
				if sv.Has[r] {
					p.req[s][r] = sv.Demand[r][0]
				}
			}
		}
	}
	return p.e.fit(p.req), nil
}
func (p *static) observe(int, []float64) {}
func (p *static) stats() (int, float64)  { return 0, 0 }

// reactiveMargin is the reactive baseline's margin over the last usage.
const reactiveMargin = 0.15

// reactive allocates the last observed usage plus 15% (usage: capped by
// its own limit, as a real controller reads it). With lag 1 it sees
// the epoch just ended (a local controller setting its own limits); with
// lag Lag it runs through the plan as an Allot client does (usage of epoch
// k shapes the allocation of k+Lag), which tells how much of its edge over
// Allot is seeing one epoch more.
type reactive struct {
	e   *env
	lag int
}

func (p *reactive) allocate(k int) ([][nr]int64, error) {
	i := p.e.w.Warmup + k - p.lag
	req := make([][nr]float64, len(p.e.w.Svcs))
	if i < 0 {
		return p.e.fit(req), nil
	}
	for s, sv := range p.e.w.Svcs {
		for r := range nr {
			if sv.Has[r] {
				req[s][r] = p.e.observed(s, r, i) * (1 + reactiveMargin)
			}
		}
	}
	return p.e.fit(req), nil
}
func (p *reactive) observe(int, []float64) {}
func (p *reactive) stats() (int, float64)  { return 0, 0 }

// newLiveAllot is an Allot policy that runs its own forecasters on what
// its client sees under its allocations: of io and net always (no kernel
// signal of their unmet demand), of every resource under ObserveCapped
// and ObserveClient.
func newLiveAllot(e *env, cfg allotCfg) (policy, error) {
	p := newAllot(e, cfg)
	lf, err := newLiveForecasts(e, e.obs != ObserveDemand)
	if err != nil {
		return nil, err
	}
	p.live = lf
	return p, nil
}

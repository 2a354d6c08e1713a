package sim

import (
	"fmt"
	"sync/atomic"

	"github.com/allot-dev/allot/bidding"
)

// Run is one policy replayed at one contention level.
type Run struct {
	Policy     string
	Contention float64
	Metrics    Metrics
	// Alloc is the allocation per service and resource at every evaluated
	// epoch (kept only when the run was asked to record it, for plots).
	Alloc [][nr][]float64
}

// Result is a whole simulation: one run per (contention, policy).
type Result struct {
	World     *World
	Forecasts *Forecasts
	Runs      []*Run // contention-major, policies in the order asked
}

// replayOne runs policy name on w at contention c, counting epochs in done.
func replayOne(w *World, f *Forecasts, name string, c float64, obs string, record bool, done *atomic.Int64) (*Run, error) {
	return replayWatched(w, f, name, c, obs, record, done, nil)
}

// epochWatch sees each evaluated epoch k once it is scored, before the
// policy observes it: the policy, what it allocated, and what each service
// got (diagnostics that need more than the run's metrics).
type epochWatch func(k int, p policy, alloc [][nr]int64, got [][nr]float64)

// replayWatched is replayOne with watch (nil: none) called at every epoch.
func replayWatched(w *World, f *Forecasts, name string, c float64, obs string, record bool, done *atomic.Int64, watch epochWatch) (*Run, error) {
	nodes := w.Capacities(c)
	eff, err := effectiveCapacities(nodes)
	if err != nil {
		return nil, err
	}
	e := &env{w: w, f: f, nodes: nodes, eff: eff, obs: obs, borrow: w.BorrowsMemory(name)}
	kern := NewKernel(w, nodes, name)
	p, err := newPolicy(name, e)
	if err != nil {
		return nil, err
	}
	run := &Run{Policy: name, Contention: c}
	n := len(w.Svcs)
	if record {
		run.Alloc = make([][nr][]float64, n)
		for s := range run.Alloc {
			for r := range nr {
				if w.Svcs[s].Has[r] {
					run.Alloc[s][r] = make([]float64, w.Steps)
				}
			}
		}
	}
	has, weight, crit := w.scoring()
	a := newAcc(w.norm, eff).withBreakdown(w)
	bp, _ := p.(interface{ lastBids() [][nr]bidTop })
	// A policy whose client acts within the epoch (Allot's: tick.go) adds
	// to the epoch's allocations what it lends there, once the epoch's
	// demand is known.
	we, _ := p.(interface {
		withinEpoch(k int, alloc [][nr]int64, demand [][nr]float64)
	})
	demand := make([][nr]float64, n)
	got := make([][nr]float64, n)
	rec := newRecovery(w)
	var memN, kills int // service-epochs with memory, and OOM-killed
	for k := 0; k < w.Steps; k++ {
		alloc, err := p.allocate(k)
		if err != nil {
			return nil, fmt.Errorf("policy %s at contention %.2f: %w", name, c, err)
		}
		for s, sv := range w.Svcs {
			for r := range nr {
				if sv.Has[r] {
					demand[s][r] = sv.Demand[r][w.Warmup+k]
				}
			}
		}
		if we != nil {
			we.withinEpoch(k, alloc, demand)
		}
		e.record(alloc)
		for s, sv := range w.Svcs {
			for r := range nr {
				if sv.Has[r] && record {
					run.Alloc[s][r][k] = float64(alloc[s][r])
				}
			}
		}
		if bp != nil {
			a.bids = bp.lastBids()
		}
		got = kern.Served(alloc, demand, got)
		e.recordKills(kern)
		for s, sv := range w.Svcs {
			if sv.Has[bidding.Memory] {
				memN++
				if kern.Killed(s) {
					kills++
				}
			}
		}
		served := a.epoch(alloc, demand, got, has, weight, crit)
		rec.epoch(k, alloc, demand, has, a.inv)
		if watch != nil {
			watch(k, p, alloc, got)
		}
		p.observe(k, served)
		if done != nil {
			done.Add(1)
		}
	}
	run.Metrics = a.metrics()
	run.Metrics.OOMKills = ratio(float64(kills), float64(memN))
	run.Metrics.BoostRecoveryMin, run.Metrics.BreachShortfall = rec.result(w)
	run.Metrics.Boosts, run.Metrics.SolveMS = p.stats()
	return run, nil
}

// effectiveCapacities asks the solver what it will hand out per node (the
// capacity after its reserve and headroom), so that every policy lives under
// the same capacities without copying the solver's arithmetic.
func effectiveCapacities(nodes []bidding.Node) ([][nr]int64, error) {
	plan, err := bidding.Solve(bidding.Problem{Epoch: 1, Nodes: nodes, Options: bidding.DefaultOptions()})
	if err != nil {
		return nil, fmt.Errorf("effective capacities: %w", err)
	}
	out := make([][nr]int64, len(nodes))
	for n, node := range nodes {
		for _, np := range plan.Nodes {
			if np.Node == node.Name {
				out[n] = np.Capacity
			}
		}
	}
	return out, nil
}

// Replay runs every (contention, policy) pair on workers goroutines.
// Runs at recordAt contention keep their allocations for plots.
func Replay(w *World, f *Forecasts, policies []string, contention []float64, obs string, recordAt float64, workers int, done *atomic.Int64) (*Result, error) {
	res := &Result{World: w, Forecasts: f, Runs: make([]*Run, len(contention)*len(policies))}
	type job struct {
		i int
		c float64
		p string
	}
	// The solver-backed policies are the slow ones: start them first.
	var order []job
	for _, solverFirst := range []bool{true, false} {
		for ci, c := range contention {
			for pi, p := range policies {
				if isSolverPolicy(p) == solverFirst {
					order = append(order, job{ci*len(policies) + pi, c, p})
				}
			}
		}
	}
	if err := parallel(len(order), workers, func(k int) error {
		j := order[k]
		run, err := replayOne(w, f, j.p, j.c, obs, j.c == recordAt, done)
		res.Runs[j.i] = run
		return err
	}); err != nil {
		return nil, err
	}
	finishResult(res, policies, contention)
	return res, nil
}

func isSolverPolicy(p string) bool {
	return p == PolicyAllot || p == PolicyAllotNoFair || p == PolicyAllotNoBoost || p == PolicyOracle
}

// finishResult fills the utility ratios (against the oracle at the same
// contention, which is replayed when not asked for) and forecast coverage.
func finishResult(res *Result, policies []string, contention []float64) {
	cov90, cov99 := coverage(res.World, res.Forecasts)
	for ci := range contention {
		row := res.Runs[ci*len(policies) : (ci+1)*len(policies)]
		var oracle float64
		for _, r := range row {
			if r.Policy == PolicyOracle {
				oracle = r.Metrics.Utility
			}
		}
		for _, r := range row {
			r.Metrics.UtilityRatio = ratio(r.Metrics.Utility, oracle)
			if isSolverPolicy(r.Policy) && r.Policy != PolicyOracle {
				r.Metrics.CoverageP90, r.Metrics.CoverageP99 = cov90, cov99
			}
		}
	}
}

// coverage is the fraction of evaluated (service, resource, epoch) whose
// demand was at or below the bid's p90 and p99.
func coverage(w *World, f *Forecasts) (float64, float64) {
	var n, c90, c99 int
	for s, sv := range w.Svcs {
		for r := range nr {
			if !sv.Has[r] {
				continue
			}
			for k := 0; k < w.Steps; k++ {
				q := toQuantiles(f.Q[s][r][k])
				u := sv.Demand[r][w.Warmup+k]
				n++
				if u <= float64(q.P90) {
					c90++
				}
				if u <= float64(q.P99) {
					c99++
				}
			}
		}
	}
	return ratio(float64(c90), float64(n)), ratio(float64(c99), float64(n))
}

package bidding

import (
	"fmt"
	"time"
)

// Solve turns the bids in p into a plan: floors first, then the exact
// optimum of the concave utility LP above them per resource, share-cap
// spill, deadband against p.Previous, explanations and the plan hash. The
// same Problem (in any input order) gives the same plan and hash. Solve
// never panics: inconsistent input is returned as an error.
func Solve(p Problem) (*Plan, error) { return solveWith(p, new(solveWork), autoLP) }

func solveWith(p Problem, w *solveWork, shape lpShape) (plan *Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, fmt.Errorf("bidding: solve epoch %d: internal error: %v", p.Epoch, r)
		}
	}()
	began := time.Now()
	in, err := prepare(p, w)
	if err != nil {
		return nil, fmt.Errorf("bidding: solve epoch %d: %w", p.Epoch, err)
	}
	in.shape = shape
	res, err := in.solve()
	if err != nil {
		return nil, fmt.Errorf("bidding: solve epoch %d: %w", p.Epoch, err)
	}
	in.applyDeadband(p.Previous, res)
	plan = in.buildPlan(res)
	in.releaseWork()
	plan.Stats.SolveMS = float64(time.Since(began).Microseconds()) / 1000
	return plan, nil
}

// result is the solver's output before it becomes a Plan.
type result struct {
	alloc []Vec // per placement
	lps   [NumResources]*resLP
	held  [][NumResources]bool // per placement: the deadband kept the previous grant (nil: none kept)
}

func (in *instance) solve() (*result, error) {
	order, start := in.byNode()
	in.computeFloors(order, start)
	res := &result{}
	if in.work != nil {
		res.alloc = reuse(in.work.alloc, len(in.pls))[:len(in.pls)]
		in.work.alloc = res.alloc
	} else {
		res.alloc = make([]Vec, len(in.pls))
	}
	for r := range NumResources {
		for i, rp := range in.rp[r] {
			res.alloc[i][r] = rp.floor
		}
	}
	ws := &lpWork{}
	if in.work != nil {
		ws = &in.work.lp
	}
	shape := in.lpShape()
	for _, r := range Resources() {
		lp := in.buildLP(r, ws, shape)
		if err := lp.solve(in.opts.MaxIterations); err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		lp.spill()
		in.addTo(lp, res.alloc)
		lp.release()
		res.lps[r] = lp
	}
	return res, nil
}

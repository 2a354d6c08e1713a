package bidding

import (
	"fmt"
	"math"
)

// buildPlan assembles the Plan: allocations, node capacities and shadow
// prices, stats, problems, explanations and the hash.
func (in *instance) buildPlan(res *result) *Plan {
	plan := &Plan{Epoch: in.epoch}
	plan.Allocations = make([]Allocation, len(in.pls))
	for i := range in.pls {
		pl := &in.pls[i]
		a := res.alloc[i]
		plan.Allocations[i] = Allocation{Service: in.svcNames[pl.svc], Node: in.nodes[pl.node].Name,
			CPU: a[CPU], Memory: a[Memory], IO: a[IO], Net: a[Net]}
	}
	plan.Nodes = make([]NodePlan, len(in.nodes))
	for n := range in.nodes {
		prices := make(map[string]float64, NumResources)
		for r := range NumResources {
			prices[resourceNames[r]] = res.lps[r].nodePrice[n]
		}
		plan.Nodes[n] = NodePlan{Node: in.nodes[n].Name, Capacity: in.capEff[n], ShadowPrice: prices}
	}
	st := &plan.Stats
	st.Bids = len(in.bids)
	seen := -1
	for i := range in.pls {
		if int(in.pls[i].svc) != seen {
			st.Services++
			seen = int(in.pls[i].svc)
		}
	}
	var obj, bound float64
	for _, lp := range res.lps {
		obj += lp.objective
		bound += lp.bound
		st.Iterations += lp.iters
		st.Fallback = st.Fallback || lp.fallback
		st.CapsBinding += lp.capsTight
		if lp.hasBudget {
			if st.BudgetPrices == nil {
				st.BudgetPrices = make(map[string]float64, NumResources)
			}
			st.BudgetPrices[lp.r.String()] = lp.budgetPrice
		}
	}
	st.Objective = obj
	st.Gap = relGap(obj, bound)
	st.FairnessJain = in.jain(res.alloc)
	plan.Problems = in.problems
	if !in.opts.SkipExplain {
		plan.Explain = in.explain(res, -1)
	}
	plan.Hash = in.hashPlan(res.alloc)
	return plan
}

// relGap is (bound − objective)/max(|bound|, 1e-9): relative, with an
// absolute floor far below any real objective (weights × cores or GiB).
func relGap(obj, bound float64) float64 {
	d := bound - obj
	if d <= 0 {
		return 0
	}
	return d / math.Max(math.Abs(bound), 1e-9)
}

// jain is Jain's fairness index of the placements' satisfaction, the least
// over resources of granted/median (capped at 1).
func (in *instance) jain(alloc []Vec) float64 {
	var s, s2 float64
	n := 0
	for i := range in.pls {
		pl := &in.pls[i]
		sat, any := 1.0, false
		for r := range NumResources {
			rp := &in.rp[r][i]
			if !rp.has || rp.q.P50 <= 0 || in.capEff[pl.node][r] == 0 {
				continue
			}
			any = true
			sat = min(sat, 1, float64(alloc[i][r])/float64(rp.q.P50)) // builtin min: same NaN and ±0 rules as math.Min, no call
		}
		if any {
			n++
			s += sat
			s2 += float64(sat * sat)
		}
	}
	if n == 0 || s2 == 0 {
		return 1
	}
	return float64(s*s) / float64(float64(n)*s2)
}

// explain says, per placement and resource, what the floor was, which
// segments were granted, what bound it, and the node's shadow price. A
// resource the bid does not name and that got nothing is left out.
func (in *instance) explain(res *result, only int32) []Explanation {
	out := make([]Explanation, 0, len(in.pls))
	nodeUsed := make([]Vec, len(in.nodes))
	for i := range in.pls {
		for r := range NumResources {
			nodeUsed[in.pls[i].node][r] += res.alloc[i][r]
		}
	}
	nodeBinding := make([][NumResources]string, len(in.nodes))
	for n := range in.nodes {
		for r := range NumResources {
			nodeBinding[n][r] = "node " + in.nodes[n].Name + " " + resourceNames[r]
		}
	}
	nseg := 0
	for i := range in.pls {
		if only >= 0 && in.pls[i].svc != only {
			continue
		}
		for r := range NumResources {
			if in.rp[r][i].has {
				nseg += NumSegments
			}
		}
	}
	segs := make([]Segment, 0, nseg)
	for i := range in.pls {
		pl := &in.pls[i]
		if only >= 0 && pl.svc != only {
			continue
		}
		e := Explanation{Service: in.svcNames[pl.svc], Node: in.nodes[pl.node].Name,
			Weight: in.base[pl.svc], Boost: in.mult[pl.svc], Resources: make(map[string]ResExplain, NumResources)}
		wid := in.wid[pl.svc]
		for r := range NumResources {
			lp := res.lps[r]
			rp := &in.rp[r][i]
			g := res.alloc[i][r]
			if !rp.has && g == 0 && rp.floor == 0 {
				continue // nothing asked, nothing given
			}
			ex := ResExplain{Floor: rp.floor, Granted: g, ShadowPrice: lp.nodePrice[pl.node], Binding: "none"}
			if rp.has && in.capEff[pl.node][r] > 0 {
				start := len(segs)
				left := g - rp.floor
				for k, wd := range segmentWidths(rp.q, rp.floor, rp.hi) {
					if wd <= 0 {
						continue
					}
					gr := min(max(left, 0), wd)
					left -= gr
					segs = append(segs, Segment{Name: segmentNames[k], Width: wd, Value: float64(in.keyVal[wid][k] * resourceScale[r]), Granted: gr})
				}
				ex.Segments = segs[start:len(segs):len(segs)]
			}
			switch {
			case in.capEff[pl.node][r] == 0:
				ex.Binding = "not allocated"
			case res.held != nil && res.held[i][r]:
				ex.Binding = "deadband (previous grant kept)"
			case g >= rp.hi:
				ex.Binding = "bid max"
			case lp.capOf != nil && lp.capOf[pl.svc] >= 0 && lp.capPrice[lp.capOf[pl.svc]] > 0:
				ex.Binding = "share cap"
			case nodeUsed[pl.node][r] >= in.capEff[pl.node][r]:
				ex.Binding = nodeBinding[pl.node][r]
			case lp.hasBudget && lp.budgetPrice > 0:
				ex.Binding = "cluster budget"
			}
			e.Resources[resourceNames[r]] = ex
		}
		out = append(out, e)
	}
	return out
}

// Explain recomputes the explanations of one service's placements: p must
// be the Problem plan was solved from (it is checked against plan.Hash).
// It serves `allot plan explain` when the plan was made with SkipExplain.
func Explain(p Problem, plan *Plan, service string) ([]Explanation, error) {
	if plan == nil {
		return nil, fmt.Errorf("bidding: explain %s: no plan", service)
	}
	in, err := prepare(p, new(solveWork))
	if err != nil {
		return nil, fmt.Errorf("bidding: explain %s: %w", service, err)
	}
	s := searchString(in.svcNames, service)
	if s < 0 {
		return nil, fmt.Errorf("bidding: explain %s: unknown service", service)
	}
	res, err := in.solve()
	if err != nil {
		return nil, fmt.Errorf("bidding: explain %s: %w", service, err)
	}
	in.applyDeadband(p.Previous, res)
	if h := in.hashPlan(res.alloc); h != plan.Hash {
		return nil, fmt.Errorf("bidding: explain %s: the problem given is not the one plan %s was solved from (hash %s)", service, plan.Hash, h)
	}
	return in.explain(res, int32(s)), nil
}

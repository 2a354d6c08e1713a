package bidding

import "fmt"

// PhaseNames and Phase let the benchmarks time each stage of Solve.
func PhaseNames() []string {
	return []string{"prepare", "floors", "lp", "plan", "explain", "hash", "jain"}
}

func Phase(p Problem, name string) func() {
	in, _ := prepare(p, new(solveWork))
	order, start := in.byNode()
	in.computeFloors(order, start)
	res, _ := in.solve()
	switch name {
	case "prepare":
		return func() { prepare(p, new(solveWork)) }
	case "floors":
		return func() { in.computeFloors(order, start) }
	case "lp":
		return func() {
			for _, r := range Resources() {
				lp := in.buildLP(r, nil, fullLP)
				lp.solve(0)
				lp.spill()
			}
		}
	case "plan":
		return func() { in.buildPlan(res) }
	case "explain":
		return func() { in.explain(res, -1) }
	case "hash":
		return func() { in.hashPlan(res.alloc) }
	case "jain":
		return func() { in.jain(res.alloc) }
	}
	return nil
}

// CompareShapes solves p with the full and the grouped LP and reports, per
// placement, the allocations that differ, and each resource's objectives.
func CompareShapes(p Problem) (diffs []string, objs [][2]float64, err error) {
	solve := func(shape lpShape) (*instance, *result, error) {
		in, err := prepare(p, new(solveWork))
		if err != nil {
			return nil, nil, err
		}
		in.shape = shape
		res, err := in.solve()
		return in, res, err
	}
	in, f, err := solve(fullLP)
	if err != nil {
		return nil, nil, err
	}
	_, g, err := solve(groupedLP)
	if err != nil {
		return nil, nil, err
	}
	for i := range f.alloc {
		if f.alloc[i] != g.alloc[i] {
			pl := in.pls[i]
			diffs = append(diffs, fmt.Sprintf("placement %d (svc %d node %d): full %v grouped %v", i, pl.svc, pl.node, f.alloc[i], g.alloc[i]))
		}
	}
	for r := range NumResources {
		objs = append(objs, [2]float64{f.lps[r].objective, g.lps[r].objective})
	}
	return diffs, objs, nil
}

package bidding

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
				lp := in.buildLP(r, nil)
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

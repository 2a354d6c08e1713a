package bidding

// solveNetwork solves an LP with a cluster budget row. The budget couples
// every node, so the per-node greedy of solveReduced no longer decides the
// uncapped columns; instead the whole LP (grouped, so it is small) is one
// min-cost circulation: root → budget (capacity: the budget left above the
// floors) → cap rows → nodes for capped columns, budget → nodes for the
// others, nodes → root (spare capacity). Budget and cap rows are nested
// (laminar) and each column lies in one node row, so this is exact.
//
// The start is the zero flow on a strongly feasible tree: nodes hang from
// the root by their capacity arcs, the budget and cap rows by artificial
// arcs to the root whose cost is above any cycle's gain, so they never
// carry flow and the potentials at the optimum are valid LP prices:
// λ = π(node), ν = −π(budget), μ = π(budget) − π(cap), clipped at 0.
func (lp *resLP) solveNetwork(maxIter int) error {
	nN, nC := len(lp.nodeCap), len(lp.capK)
	beta := int32(1 + nN + nC)
	capNode := func(c int32) int32 { return int32(1+nN) + c }
	net := newNetwork(2+nN+nC, len(lp.colU)+2*nN+2*nC+2)
	tree := make([]int32, 2+nN+nC)
	maxV := 0.0
	for _, v := range lp.colV {
		maxV = max(maxV, v)
	}
	artificial := float64(2*maxV) + 1
	colArc := make([]int32, len(lp.colU))
	for j := range lp.colU {
		from := beta
		if c := lp.colCap[j]; c >= 0 {
			from = capNode(c)
		}
		colArc[j] = net.arc(from, 1+lp.node[j], -lp.colV[j], lp.colU[j])
	}
	const unbounded = 4 * MaxQuantity // artificial arcs never carry flow (see above)
	for c, k := range lp.capK {
		net.arc(beta, capNode(int32(c)), 0, k)
		tree[capNode(int32(c))] = net.arc(capNode(int32(c)), 0, artificial, unbounded)
	}
	for n := range nN {
		tree[1+n] = net.arc(int32(1+n), 0, 0, lp.nodeCap[n])
	}
	net.arc(0, beta, 0, lp.budget)
	tree[beta] = net.arc(beta, 0, artificial, unbounded)
	if err := net.start(tree); err != nil {
		return err
	}
	var err error
	if lp.iters, err = net.runCapped(maxIter); err != nil {
		return err
	}
	for j, a := range colArc {
		lp.x[j] = net.flow[a]
	}
	for n := range nN {
		lp.nodePrice[n] = max(0, net.pi[1+n])
	}
	lp.budgetPrice = max(0, -net.pi[beta])
	for c := range nC {
		lp.capPrice[c] = max(0, net.pi[beta]-net.pi[capNode(int32(c))])
	}
	return nil
}

// budgetLeft is the budget row's room at x (a large number without the row).
func (lp *resLP) budgetLeft() int64 {
	if !lp.hasBudget {
		return MaxQuantity * 4
	}
	left := lp.budget
	for _, x := range lp.x {
		left -= x
	}
	return left
}

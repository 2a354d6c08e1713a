package bidding

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// solve finds the LP optimum and its shadow prices. The uncapped columns of
// a node form a fractional knapsack, which the greedy (by value) solves
// exactly; only the share-cap rows couple nodes. So the LP is reduced to a
// small network: a capped service's columns flow from its cap row to its
// nodes, and a node absorbs that flow through its free capacity (cost 0)
// or by displacing its least valuable greedy units (cost: their value);
// the best unit left out may flow back in. The bounded network simplex,
// warm-started from the greedy, solves it exactly; the LP's own dual bound
// is then computed from the prices as a certificate. If the simplex hits
// its iteration cap, the greedy with caps stands, flagged as a fallback.
func (lp *resLP) solve(maxIter int) error {
	var err error
	if lp.hasBudget {
		err = lp.solveNetwork(maxIter)
	} else {
		err = lp.solveReduced(maxIter)
	}
	switch {
	case err == nil:
	case errors.Is(err, errIterationCap):
		clear(lp.nodePrice)
		clear(lp.capPrice)
		lp.budgetPrice = 0
		lp.greedy()
		lp.greedyPrices()
		lp.fallback = true
	default:
		return fmt.Errorf("simplex: %w", err)
	}
	lp.objective = lp.primalValue()
	lp.bound = lp.dualBound()
	used := make([]int64, len(lp.capK))
	for j, c := range lp.colCap {
		if c >= 0 {
			used[c] += lp.x[j]
		}
	}
	for c, u := range used {
		if u >= lp.capK[c] {
			lp.capsTight++
		}
	}
	if left := lp.budgetLeft(); left < 0 {
		return fmt.Errorf("budget of %s exceeded by %d", lp.r, -left)
	}
	return nil
}

// reduced maps the network's arcs back to the LP's columns.
type reduced struct {
	net      *network
	colArc   []int32 // per capped column index in lp.capCols: its arc
	capCols  []int32
	dispArc  []int32 // displacement arcs
	dispCol  []int32 // per displacement arc: its first column
	nextCol  []int32 // per column: the next column of the same displacement arc, or -1
	outArc   []int32 // per node: the arc of its best left-out unit, or -1
	outCol   []int32
	capArc   []int32 // per cap row: its arc
	nN, nCap int
}

func (lp *resLP) solveReduced(maxIter int) error {
	nN, nC := len(lp.nodeCap), len(lp.capK)
	left := make([]int64, nN)
	copy(left, lp.nodeCap)
	outCol := make([]int32, nN)
	for n := range outCol {
		outCol[n] = -1
	}
	var capCols []int32
	for j := range lp.colU {
		if lp.colCap[j] >= 0 {
			lp.x[j] = 0
			continue
		}
		n := lp.node[j]
		a := min(lp.colU[j], left[n])
		lp.x[j] = a
		left[n] -= a
		if a < lp.colU[j] && outCol[n] < 0 {
			outCol[n] = int32(j)
		}
	}
	if nC == 0 {
		for n, j := range outCol {
			if j >= 0 {
				lp.nodePrice[n] = lp.colV[j]
			}
		}
		return nil
	}
	need := make([]int64, nN) // most capped flow a node could take beyond its free capacity
	for j, c := range lp.colCap {
		if c >= 0 {
			capCols = append(capCols, int32(j))
			need[lp.node[j]] += lp.colU[j]
		}
	}
	for n := range need {
		need[n] = max(0, min(need[n], lp.nodeCap[n])-left[n])
	}
	// Capped arcs by placement, then segment.
	slices.SortFunc(capCols, func(a, b int32) int {
		if c := cmp.Compare(lp.colPl[a], lp.colPl[b]); c != 0 {
			return c
		}
		return cmp.Compare(lp.colSeg[a], lp.colSeg[b])
	})
	rd := &reduced{nN: nN, nCap: nC, capCols: capCols, outArc: make([]int32, nN), outCol: outCol}
	// At most one displacement arc per node and value level.
	net := newNetwork(1+nN+nC, len(capCols)+2*nN+nC+min(len(lp.colU), nN*lp.nRanks))
	rd.net = net
	tree := make([]int32, 1+nN+nC)
	rd.colArc = make([]int32, len(capCols))
	for k, j := range capCols {
		rd.colArc[k] = net.arc(int32(1+nN)+lp.colCap[j], 1+lp.node[j], -lp.colV[j], lp.colU[j])
	}
	rd.capArc = make([]int32, nC)
	for c, k := range lp.capK {
		rd.capArc[c] = net.arc(0, int32(1+nN+c), 0, k)
		tree[1+nN+c] = rd.capArc[c]
	}
	slackArc := make([]int32, nN)
	for n := range nN {
		tree[1+n] = net.arc(int32(1+n), 0, 0, left[n])
		slackArc[n] = tree[1+n]
		rd.outArc[n] = -1
		if j := outCol[n]; j >= 0 {
			rd.outArc[n] = net.arc(0, int32(1+n), -lp.colV[j], lp.colU[j]-lp.x[j])
			if left[n] == 0 {
				tree[1+n] = rd.outArc[n]
			}
		}
	}
	// Displacement arcs, least valuable units first; units of one node with
	// the same value share an arc (values take few distinct levels).
	// Only the entries of columns on a displacement arc are written and read,
	// so a reused array needs no clearing.
	if lp.ws != nil {
		rd.nextCol = reuse(lp.ws.nextCol, len(lp.colU))[:len(lp.colU)]
		lp.ws.nextCol = rd.nextCol
	} else {
		rd.nextCol = make([]int32, len(lp.colU))
	}
	dispFirst := make([]int32, nN) // per node: its first (cheapest) displacement arc, or -1
	dispNext := make([]int32, 0, 4*nN)
	dispLastOf := make([]int32, nN)
	for n := range dispFirst {
		dispFirst[n] = -1
	}
	open := make([]int32, nN)   // per node: its current displacement arc, or -1
	last := make([]int32, nN)   // per node: the last column of that arc
	openRk := make([]int32, nN) // per node: the rank of that arc
	for n := range open {
		open[n] = -1
	}
	for k := len(lp.colU) - 1; k >= 0; k-- {
		j := int32(k)
		n := lp.node[j]
		if lp.colCap[j] >= 0 || lp.x[j] == 0 {
			continue
		}
		rd.nextCol[j] = -1
		if o := open[n]; o >= 0 && openRk[n] == lp.colRank[j] {
			net.ucap[rd.dispArc[o]] += lp.x[j]
			rd.nextCol[last[n]], last[n] = j, j
			need[n] = max(0, need[n]-lp.x[j])
			continue
		}
		if need[n] == 0 {
			continue
		}
		open[n], last[n], openRk[n] = int32(len(rd.dispArc)), j, lp.colRank[j]
		if dispFirst[n] < 0 {
			dispFirst[n] = open[n]
		} else {
			dispNext[dispLastOf[n]] = open[n]
		}
		dispLastOf[n] = open[n]
		dispNext = append(dispNext, -1)
		rd.dispArc = append(rd.dispArc, net.arc(1+n, 0, lp.colV[j], lp.x[j]))
		rd.dispCol = append(rd.dispCol, j)
		need[n] = max(0, need[n]-lp.x[j])
	}
	ws := warmStart{lp: lp, rd: rd, left: left, slackArc: slackArc, dispFirst: dispFirst, dispNext: dispNext, tree: tree}
	star := slices.Clone(tree)
	ws.run()
	if err := net.start(tree); err != nil {
		// Not expected: start again from the greedy without capped flow.
		clear(net.flow)
		if err := net.start(star); err != nil {
			return err
		}
	}
	var err error
	if lp.iters, err = net.runCapped(maxIter); err != nil {
		return err
	}
	rd.extract(lp)
	return nil
}

// extract writes the network's flows back into the columns and its
// potentials into the shadow prices (λ = π_node, μ = −π_cap, at least 0).
func (rd *reduced) extract(lp *resLP) {
	net := rd.net
	for k, j := range rd.capCols {
		lp.x[j] = net.flow[rd.colArc[k]]
	}
	for k, j := range rd.dispCol {
		f := net.flow[rd.dispArc[k]]
		for ; f > 0 && j >= 0; j = rd.nextCol[j] {
			d := min(f, lp.x[j])
			lp.x[j] -= d
			f -= d
		}
	}
	for n, a := range rd.outArc {
		if a >= 0 {
			lp.x[rd.outCol[n]] += net.flow[a]
		}
	}
	for n := range rd.nN {
		lp.nodePrice[n] = max(0, net.pi[1+n])
	}
	for c := range rd.nCap {
		lp.capPrice[c] = max(0, -net.pi[1+rd.nN+c])
	}
}

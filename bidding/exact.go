package bidding

import (
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
	lp.greedyOrder()
	err := lp.solveReduced(maxIter)
	switch {
	case err == nil:
	case errors.Is(err, errIterationCap):
		clear(lp.nodePrice)
		clear(lp.capPrice)
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
	for _, j := range lp.order {
		if lp.colCap[j] >= 0 {
			lp.x[j] = 0
			continue
		}
		n := lp.node[j]
		a := min(lp.colU[j], left[n])
		lp.x[j] = a
		left[n] -= a
		if a < lp.colU[j] && outCol[n] < 0 {
			outCol[n] = j
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
	rd := &reduced{nN: nN, nCap: nC, capCols: capCols, outArc: make([]int32, nN), outCol: outCol}
	net := newNetwork(1+nN+nC, len(capCols)+3*nN+nC)
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
	rd.nextCol = make([]int32, len(lp.colU))
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
	for k := len(lp.order) - 1; k >= 0; k-- {
		j := lp.order[k]
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
	if maxIter <= 0 {
		maxIter = 50*len(net.tail) + 1000
	}
	var err error
	lp.iters, err = net.run(maxIter)
	if err != nil {
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

// warmStart puts whole capped columns into the network's starting basis:
// by their value net of the displacement they cause at their node (highest
// first, ties by column), each taken if its cap row and node have room and
// it is still worth more than the units it would displace. A node absorbs
// its capped inflow with its free capacity first, then by displacing its
// cheapest units; the last displacement arc used (or the free-capacity
// arc) is its tree arc, every other arc is at a bound.
type warmStart struct {
	lp        *resLP
	rd        *reduced
	left      []int64 // free capacity per node after the uncapped greedy
	slackArc  []int32
	dispFirst []int32
	dispNext  []int32
	tree      []int32
}

// absorbCost is the value lost when a node already absorbing y absorbs a
// more: nothing within its free capacity, then its cheapest units first.
func (w *warmStart) absorbCost(n int32, y, a int64) float64 {
	lo, hi := max(y-w.left[n], 0), y+a-w.left[n] // the displaced range [lo, hi)
	net := w.rd.net
	var cost float64
	pos := int64(0)
	for d := w.dispFirst[n]; d >= 0 && pos < hi; d = w.dispNext[d] {
		arc := w.rd.dispArc[d]
		end := pos + net.ucap[arc]
		if ov := min(end, hi) - max(pos, lo); ov > 0 {
			cost += float64(float64(ov) * net.cost[arc])
		}
		pos = end
	}
	return cost
}

// worthwhile is how much more a node absorbing y can take of a unit worth
// v: up to the end of its free capacity or of the last displacement arc
// cheaper than v (so the absorption stops on an arc boundary).
func (w *warmStart) worthwhile(n int32, y int64, v float64) int64 {
	end := w.left[n]
	net := w.rd.net
	for d := w.dispFirst[n]; d >= 0; d = w.dispNext[d] {
		arc := w.rd.dispArc[d]
		if net.cost[arc] >= v {
			break
		}
		end += net.ucap[arc]
	}
	return max(0, end-y)
}

// gainHeap orders candidate capped columns by net gain, highest first,
// ties by column.
type gainHeap struct {
	k    []int32
	gain []float64
}

func (h *gainHeap) less(a, b int) bool {
	ga, gb := h.gain[h.k[a]], h.gain[h.k[b]]
	if ga != gb {
		return ga > gb
	}
	return h.k[a] < h.k[b]
}

func (h *gainHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.k) {
			return
		}
		m := l
		if r := l + 1; r < len(h.k) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.k[i], h.k[m] = h.k[m], h.k[i]
		i = m
	}
}

func (h *gainHeap) pop() {
	h.k[0] = h.k[len(h.k)-1]
	h.k = h.k[:len(h.k)-1]
	h.down(0)
}

// run is a lazy greedy over the capped columns by net gain (value minus
// the value displaced). A column is taken whole when it fits; otherwise in
// part, and then it becomes a tree arc: its node hangs from its cap row when
// the node stopped it (the node is then closed), or its cap row hangs from
// its node when the cap ran out (both are then closed).
func (w *warmStart) run() {
	lp, rd, net := w.lp, w.rd, w.rd.net
	nN := len(lp.nodeCap)
	y := make([]int64, nN)
	used := make([]int64, len(lp.capK))
	nodeClosed := make([]bool, nN)
	capClosed := make([]bool, len(lp.capK))
	amount := func(j int32) int64 {
		n := lp.node[j]
		return min(lp.colU[j], w.worthwhile(n, y[n], lp.colV[j]), lp.nodeCap[n]-y[n])
	}
	gain := func(j int32, a int64) float64 {
		return float64(lp.colV[j]*float64(a)) - w.absorbCost(lp.node[j], y[lp.node[j]], a)
	}
	h := &gainHeap{k: make([]int32, len(rd.capCols)), gain: make([]float64, len(rd.capCols))}
	for k, j := range rd.capCols {
		h.k[k] = int32(k)
		h.gain[k] = gain(j, amount(j))
	}
	for i := len(h.k)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	for len(h.k) > 0 && h.gain[h.k[0]] > 0 {
		k := h.k[0]
		j := rd.capCols[k]
		n, c := lp.node[j], lp.colCap[j]
		if nodeClosed[n] || capClosed[c] {
			h.pop()
			continue
		}
		a := amount(j)
		if g := gain(j, a); g < h.gain[k] { // gains only fall: recheck lazily
			h.gain[k] = g
			h.down(0)
			continue
		}
		h.pop()
		capLimited := false
		if rest := lp.capK[c] - used[c]; rest <= a {
			a, capLimited = rest, true
		}
		if a <= 0 {
			continue
		}
		y[n] += a
		used[c] += a
		net.flow[rd.colArc[k]] = a
		switch {
		case capLimited:
			capClosed[c], nodeClosed[n] = true, true
			if a < lp.colU[j] {
				w.tree[1+nN+int(c)] = rd.colArc[k] // the cap row hangs from the node
			}
		case a < lp.colU[j]:
			nodeClosed[n] = true
			w.tree[1+n] = rd.colArc[k] // the node hangs from the cap row
		}
	}
	for c, f := range used {
		net.flow[rd.capArc[c]] = f
	}
	for n := range nN {
		if y[n] == 0 {
			continue
		}
		hang := w.tree[1+n] != w.slackArc[n] && w.tree[1+n] != rd.outArc[n]
		sa := w.slackArc[n]
		if !hang {
			w.tree[1+n] = sa
		}
		net.flow[sa] = min(y[n], w.left[n])
		rem := y[n] - net.flow[sa]
		for d := w.dispFirst[n]; d >= 0 && rem > 0; d = w.dispNext[d] {
			arc := rd.dispArc[d]
			f := min(rem, net.ucap[arc])
			net.flow[arc] = f
			rem -= f
			if !hang {
				w.tree[1+n] = arc
			}
		}
	}
}

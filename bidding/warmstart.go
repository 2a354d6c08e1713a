package bidding

// warmStart puts capped flow into the network's starting basis: capped
// columns by their value net of the displacement they cause at their node
// (highest first, ties by column), each taken as far as its cap row and
// node have room and it is worth more than the units it displaces. A node
// absorbs its capped inflow with its free capacity first, then by
// displacing its cheapest units; the last displacement arc used (or the
// free-capacity arc) is its tree arc, and every other arc is at a bound
// except the partly taken columns, which become tree arcs (see run).
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
			capClosed[c] = true
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

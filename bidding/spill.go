package bidding

// spill hands the capacity the LP left free on a node to the columns its
// share caps stopped ("no service above its share unless nobody else wants
// it"). With the cap rows gone each node is a fractional knapsack, so filling
// by value is exact for this second stage. The cluster budget still holds.
func (lp *resLP) spill() {
	if len(lp.capK) == 0 {
		return
	}
	left := make([]int64, len(lp.nodeCap))
	copy(left, lp.nodeCap)
	for j, x := range lp.x {
		left[lp.node[j]] -= x
	}
	budgetLeft := lp.budgetLeft()
	for j := range lp.colU { // columns are in greedy order
		if lp.colCap[j] < 0 || lp.x[j] >= lp.colU[j] {
			continue
		}
		n := lp.node[j]
		if a := min(lp.colU[j]-lp.x[j], left[n], budgetLeft); a > 0 {
			lp.x[j] += a
			left[n] -= a
			budgetLeft -= a
		}
	}
}

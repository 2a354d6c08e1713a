package bidding

import "math"

// primalValue is Σ v·x.
func (lp *resLP) primalValue() float64 {
	var s float64
	for j, x := range lp.x {
		s += float64(lp.colV[j] * float64(x))
	}
	return s
}

// dualBound is the LP dual objective at the given nonnegative prices:
// Σ spare·λ + Σ K·μ + Σ width·max(0, v − λ − μ). By weak duality it bounds
// the LP optimum from above for any λ, μ ≥ 0; at an optimal basis it equals it.
func (lp *resLP) dualBound() float64 {
	var s float64
	for n, c := range lp.nodeCap {
		s += float64(float64(c) * lp.nodePrice[n])
	}
	for c, k := range lp.capK {
		s += float64(float64(k) * lp.capPrice[c])
	}
	if lp.hasBudget {
		s += float64(float64(lp.budget) * lp.budgetPrice)
	}
	for j, u := range lp.colU {
		red := lp.colV[j] - lp.nodePrice[lp.node[j]] - lp.budgetPrice
		if c := lp.colCap[j]; c >= 0 {
			red -= lp.capPrice[c]
		}
		if red > float64(lp.colV[j]*1e-12) { // below: rounding of λ+μ = v
			s += float64(float64(u) * red)
		}
	}
	return s
}

// greedyPrices sets prices from a greedy solution: a full row is priced at
// the best value it turned away. Any nonnegative prices give a valid bound.
func (lp *resLP) greedyPrices() {
	nodeUsed := make([]int64, len(lp.nodeCap))
	capUsed := make([]int64, len(lp.capK))
	budgetFull := lp.hasBudget && lp.budgetLeft() <= 0
	for j, x := range lp.x {
		nodeUsed[lp.node[j]] += x
		if c := lp.colCap[j]; c >= 0 {
			capUsed[c] += x
		}
	}
	for j, x := range lp.x {
		if x >= lp.colU[j] {
			continue
		}
		if budgetFull {
			lp.budgetPrice = math.Max(lp.budgetPrice, lp.colV[j])
			continue
		}
		if c := lp.colCap[j]; c >= 0 && capUsed[c] >= lp.capK[c] {
			lp.capPrice[c] = math.Max(lp.capPrice[c], lp.colV[j])
			continue
		}
		if n := lp.node[j]; nodeUsed[n] >= lp.nodeCap[n] {
			lp.nodePrice[n] = math.Max(lp.nodePrice[n], lp.colV[j])
		}
	}
}

package bidding

import "slices"

// resLP is the LP of one resource above the floors. Rows: one per node
// (Σ x ≤ spare capacity) and one per service whose share cap could bind
// (Σ x ≤ cap − Σ floors). Columns: one per utility segment, 0 ≤ x ≤ width,
// stored in greedy order (value, highest first; ties by placement, segment).
// Every column lies in exactly one node row and at most one cap row, so the
// matrix is a network matrix (totally unimodular): vertex solutions are
// integral, and the LP is solved as a max-value flow.
type resLP struct {
	r       Resource
	nodeCap []int64 // spare capacity per node after floors
	capSvc  []int32 // service of each cap row
	capK    []int64 // cap row right-hand side
	capOf   []int32 // per service: cap row or -1 (nil: no cap rows)

	colPl   []int32 // placement of each column
	colSeg  []uint8
	colCap  []int32 // cap row of each column or -1
	colU    []int64
	colV    []float64
	colRank []int32 // rank of the column's segment key (0: highest value)
	nRanks  int
	node    []int32 // node of each column

	x         []int64   // solution
	nodePrice []float64 // shadow price per node row
	capPrice  []float64 // shadow price per cap row
	objective float64
	bound     float64
	iters     int
	fallback  bool
	capsTight int // cap rows at their limit in the LP optimum
	ws        *lpWork
}

// release drops the column arrays (they belong to the workspace), keeping
// the rows, prices and figures.
func (lp *resLP) release() {
	lp.colPl, lp.colSeg, lp.colCap, lp.colU, lp.colV, lp.colRank = nil, nil, nil, nil, nil, nil
	lp.node, lp.x, lp.ws = nil, nil, nil
}

// lpWork holds the column arrays, reused from one resource to the next.
type lpWork struct {
	colPl, node, colCap, colRank, count []int32
	nextCol                             []int32 // solveReduced's column links
	colSeg                              []uint8
	colU, x, svcFloor, svcWant          []int64
	widths                              [][NumSegments]int64 // per placement, pass 1 → pass 2
	colV                                []float64
}

func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// buildLP derives the LP of resource r from the floors. Its column arrays
// live in ws (nil: fresh ones) and are valid until ws is used again.
func (in *instance) buildLP(r Resource, ws *lpWork) *resLP {
	if ws == nil {
		ws = &lpWork{}
	}
	lp := &resLP{r: r, nodeCap: make([]int64, len(in.nodes)), nRanks: in.nRanks, ws: ws}
	rps := in.rp[r]
	est := NumSegments * len(rps) // capacity only: the arrays are cut to the column count below
	lp.colPl, lp.node, lp.colSeg = reuse(ws.colPl, est), reuse(ws.node, est), reuse(ws.colSeg, est)
	lp.colU, lp.colV, lp.colRank = reuse(ws.colU, est), reuse(ws.colV, est), reuse(ws.colRank, est)
	for n := range in.nodes {
		lp.nodeCap[n] = in.capEff[n][r]
	}
	svcFloor := reuse(ws.svcFloor, len(in.svcs))[:len(in.svcs)]
	svcWant := reuse(ws.svcWant, len(in.svcs))[:len(in.svcs)]
	clear(svcFloor)
	clear(svcWant)
	ws.svcFloor, ws.svcWant = svcFloor, svcWant
	// Columns are written in greedy order — by value, highest first, ties by
	// placement then segment — with a counting sort over the few value ranks:
	// a first pass counts, the second writes each column into its slot.
	count := reuse(ws.count, in.nRanks+1)[:in.nRanks+1]
	clear(count)
	ws.count = count
	widths := reuse(ws.widths, len(in.pls))[:len(in.pls)]
	ws.widths = widths
	for i := range in.pls {
		pl, rp := &in.pls[i], &rps[i]
		lp.nodeCap[pl.node] -= rp.floor
		svcFloor[pl.svc] += rp.floor
		svcWant[pl.svc] += rp.hi - min(rp.floor, rp.hi)
		if !rp.has {
			widths[i] = [NumSegments]int64{}
			continue
		}
		kr := &in.keyRank[in.wid[pl.svc]]
		widths[i] = segmentWidths(rp.q, rp.floor, rp.hi)
		for k, wd := range widths[i] {
			if wd > 0 {
				count[kr[k]+1]++
			}
		}
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	m := int(count[in.nRanks])
	lp.colPl, lp.node, lp.colSeg = lp.colPl[:m], lp.node[:m], lp.colSeg[:m]
	lp.colU, lp.colV, lp.colRank = lp.colU[:m], lp.colV[:m], lp.colRank[:m]
	scale := resourceScale[r]
	for i := range in.pls {
		pl := &in.pls[i]
		wds := &widths[i]
		if wds[0]|wds[1]|wds[2]|wds[3] == 0 { // widths are never negative
			continue
		}
		wid := in.wid[pl.svc]
		kr, kv := &in.keyRank[wid], &in.keyVal[wid]
		for k, wd := range wds {
			if wd <= 0 {
				continue
			}
			rk := kr[k]
			j := count[rk]
			count[rk]++
			lp.colPl[j], lp.node[j], lp.colSeg[j] = int32(i), pl.node, uint8(k)
			lp.colU[j], lp.colRank[j] = wd, rk
			lp.colV[j] = float64(kv[k] * scale)
		}
	}
	ws.colPl, ws.node, ws.colSeg, ws.colU, ws.colV, ws.colRank = lp.colPl, lp.node, lp.colSeg, lp.colU, lp.colV, lp.colRank
	for n := range lp.nodeCap {
		lp.nodeCap[n] = max(lp.nodeCap[n], 0)
	}
	lp.colCap = reuse(ws.colCap, m)[:m]
	ws.colCap = lp.colCap
	for j := range lp.colCap {
		lp.colCap[j] = -1
	}
	if in.opts.ShareCap > 0 {
		var cluster int64
		for n := range in.nodes {
			cluster += in.capEff[n][r]
		}
		limit := int64(float64(in.opts.ShareCap * float64(cluster)))
		for s := range in.svcs {
			k := max(limit-svcFloor[s], 0)
			if svcWant[s] > k {
				if lp.capOf == nil {
					lp.capOf = make([]int32, len(in.svcs))
					for i := range lp.capOf {
						lp.capOf[i] = -1
					}
				}
				lp.capOf[s] = int32(len(lp.capSvc))
				lp.capSvc = append(lp.capSvc, int32(s))
				lp.capK = append(lp.capK, k)
			}
		}
		if lp.capOf != nil {
			for j, i := range lp.colPl {
				lp.colCap[j] = lp.capOf[in.pls[i].svc]
			}
		}
	}
	lp.x = reuse(ws.x, m)[:m]
	clear(lp.x)
	ws.x = lp.x
	lp.nodePrice = make([]float64, len(in.nodes))
	lp.capPrice = make([]float64, len(lp.capK))
	return lp
}

// greedy fills columns by value, each up to its bound, its node's spare
// capacity and its cap row: the fallback plan when the simplex hits its cap.
func (lp *resLP) greedy() {
	nodeLeft := slices.Clone(lp.nodeCap)
	capLeft := slices.Clone(lp.capK)
	for j := range lp.colU { // columns are in greedy order
		n := lp.node[j]
		a := min(lp.colU[j], nodeLeft[n])
		if c := lp.colCap[j]; c >= 0 {
			a = min(a, capLeft[c])
		}
		a = max(a, 0)
		lp.x[j] = a
		nodeLeft[n] -= a
		if c := lp.colCap[j]; c >= 0 {
			capLeft[c] -= a
		}
	}
}

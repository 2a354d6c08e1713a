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
	// The cluster budget row, present when the columns could exceed it:
	// Σ x ≤ budget (what the budget leaves above all floors).
	hasBudget   bool
	budget      int64
	budgetPrice float64
	grouped     bool // columns of uncapped placements merged per (node, rank): see groupedLP
	ws          *lpWork
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
	colU, x, svcFloor, svcWant, group   []int64
	widths                              [][NumSegments]int64 // per placement, pass 1 → pass 2
	colV                                []float64
}

func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// lpShape says how buildLP lays out the columns.
type lpShape uint8

const (
	// fullLP has one column per (placement, segment): the LP as stated,
	// written by WriteMPS and checked against gonum in the tests.
	fullLP lpShape = iota
	// groupedLP merges the columns of uncapped placements that share a node
	// and a value rank into one column of their summed width. Such columns
	// lie in the same single row with the same value, so they are
	// interchangeable and the merged LP has the same optimum and the same
	// dual; ungroup hands a merged column's amount back to its members in
	// greedy order (by placement), which is how the full LP's greedy fills
	// them. With few distinct weights this cuts ~40 000 columns to a few
	// thousand at 10 000 placements. Columns of capped services stay whole:
	// their cap rows tell them apart.
	groupedLP
)

// autoLP (the instance's default) picks groupedLP while its group table
// (nodes × ranks) is no larger than the full LP could be, so that many
// distinct weights on many nodes cannot make it bigger than the LP it
// replaces; the tests set a shape to compare both.
const autoLP lpShape = 255

func (in *instance) lpShape() lpShape {
	if in.shape != autoLP {
		return in.shape
	}
	if len(in.nodes)*in.nRanks <= NumSegments*len(in.pls) {
		return groupedLP
	}
	return fullLP
}

// buildLP derives the LP of resource r from the floors. Its column arrays
// live in ws (nil: fresh ones) and are valid until ws is used again.
func (in *instance) buildLP(r Resource, ws *lpWork, shape lpShape) *resLP {
	if ws == nil {
		ws = &lpWork{}
	}
	lp := &resLP{r: r, nodeCap: make([]int64, len(in.nodes)), nRanks: in.nRanks, ws: ws}
	rps := in.rp[r]
	for n := range in.nodes {
		lp.nodeCap[n] = in.capEff[n][r]
	}
	svcFloor := reuse(ws.svcFloor, len(in.svcs))[:len(in.svcs)]
	svcWant := reuse(ws.svcWant, len(in.svcs))[:len(in.svcs)]
	clear(svcFloor)
	clear(svcWant)
	ws.svcFloor, ws.svcWant = svcFloor, svcWant
	// count[rank+1] counts the columns of each value rank (full), or group
	// holds the summed width per (node, rank) (grouped).
	count := reuse(ws.count, in.nRanks+1)[:in.nRanks+1]
	clear(count)
	ws.count = count
	var group []int64
	if shape == groupedLP {
		group = reuse(ws.group, len(in.nodes)*in.nRanks)[:len(in.nodes)*in.nRanks]
		clear(group)
		ws.group = group
	}
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
		if group != nil {
			g := group[int(pl.node)*in.nRanks:]
			for k, wd := range widths[i] {
				g[kr[k]] += wd // widths are never negative
			}
			continue
		}
		for k, wd := range widths[i] {
			if wd > 0 {
				count[kr[k]+1]++
			}
		}
	}
	for n := range lp.nodeCap {
		lp.nodeCap[n] = max(lp.nodeCap[n], 0)
	}
	in.capRows(lp, r, svcFloor, svcWant)
	if group != nil {
		in.groupedColumns(lp, ws, group, count)
	} else {
		in.fullColumns(lp, ws, count)
	}
	if b := in.opts.Budget[r]; b > 0 {
		var floors, want int64
		for _, f := range svcFloor {
			floors += f
		}
		for _, u := range lp.colU {
			want += u
		}
		if left := max(0, b-floors); want > left {
			lp.hasBudget, lp.budget = true, left
		}
	}
	m := len(lp.colU)
	lp.x = reuse(ws.x, m)[:m]
	clear(lp.x)
	ws.x = lp.x
	lp.nodePrice = make([]float64, len(in.nodes))
	lp.capPrice = make([]float64, len(lp.capK))
	return lp
}

// capRows adds a row for each service whose share cap could bind: it could
// want more above its floors than the cap leaves it.
func (in *instance) capRows(lp *resLP, r Resource, svcFloor, svcWant []int64) {
	if in.opts.ShareCap <= 0 {
		return
	}
	limit := in.shareLimit(r)
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
}

// allocColumns cuts the workspace's column arrays to m columns.
func (lp *resLP) allocColumns(ws *lpWork, m int) {
	lp.colPl, lp.node, lp.colSeg = reuse(ws.colPl, m)[:m], reuse(ws.node, m)[:m], reuse(ws.colSeg, m)[:m]
	lp.colU, lp.colV, lp.colRank = reuse(ws.colU, m)[:m], reuse(ws.colV, m)[:m], reuse(ws.colRank, m)[:m]
	lp.colCap = reuse(ws.colCap, m)[:m]
	ws.colPl, ws.node, ws.colSeg, ws.colU, ws.colV, ws.colRank = lp.colPl, lp.node, lp.colSeg, lp.colU, lp.colV, lp.colRank
	ws.colCap = lp.colCap
}

// fullColumns writes one column per (placement, segment) in greedy order —
// by value, highest first, ties by placement then segment — with a counting
// sort over the few value ranks (count holds each rank's column count).
func (in *instance) fullColumns(lp *resLP, ws *lpWork, count []int32) {
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	lp.allocColumns(ws, int(count[in.nRanks]))
	scale := resourceScale[lp.r]
	for i := range in.pls {
		pl := &in.pls[i]
		wds := &ws.widths[i]
		if wds[0]|wds[1]|wds[2]|wds[3] == 0 { // widths are never negative
			continue
		}
		wid := in.wid[pl.svc]
		kr, kv := &in.keyRank[wid], &in.keyVal[wid]
		capRow := int32(-1)
		if lp.capOf != nil {
			capRow = lp.capOf[pl.svc]
		}
		for k, wd := range wds {
			if wd <= 0 {
				continue
			}
			rk := kr[k]
			j := count[rk]
			count[rk]++
			lp.colPl[j], lp.node[j], lp.colSeg[j], lp.colCap[j] = int32(i), pl.node, uint8(k), capRow
			lp.colU[j], lp.colRank[j] = wd, rk
			lp.colV[j] = float64(kv[k] * scale)
		}
	}
}

// placementsOf is the range of placements of service s (placements are in
// service order).
func (in *instance) placementsOf(s int32) (int, int) {
	lo, _ := slices.BinarySearchFunc(in.pls, s, func(p placement, s int32) int { return int(p.svc - s) })
	hi, _ := slices.BinarySearchFunc(in.pls, s+1, func(p placement, s int32) int { return int(p.svc - s) })
	return lo, hi
}

// groupedColumns writes the grouped LP's columns in greedy order: per value
// rank, first one column per node with uncapped width at that rank (colPl
// −1), then the capped placements' own columns by placement and segment.
// group holds the summed widths of all placements; the capped ones are
// taken out of it here.
func (in *instance) groupedColumns(lp *resLP, ws *lpWork, group []int64, count []int32) {
	nR := in.nRanks
	for _, s := range lp.capSvc {
		lo, hi := in.placementsOf(s)
		for i := lo; i < hi; i++ {
			g := group[int(in.pls[i].node)*nR:]
			kr := &in.keyRank[in.wid[s]]
			for k, wd := range ws.widths[i] {
				if wd > 0 {
					g[kr[k]] -= wd
					count[kr[k]+1]++
				}
			}
		}
	}
	for n := range in.nodes {
		for rk, w := range group[n*nR : (n+1)*nR] {
			if w > 0 {
				count[rk+1]++
			}
		}
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	lp.allocColumns(ws, int(count[nR]))
	scale := resourceScale[lp.r]
	for rk := range nR {
		v := float64(in.rankKey[rk] * scale)
		for n := range in.nodes {
			w := group[n*nR+rk]
			if w <= 0 {
				continue
			}
			j := count[rk]
			count[rk]++
			lp.colPl[j], lp.node[j], lp.colSeg[j], lp.colCap[j] = -1, int32(n), 0, -1
			lp.colU[j], lp.colRank[j], lp.colV[j] = w, int32(rk), v
		}
	}
	for c, s := range lp.capSvc {
		lo, hi := in.placementsOf(s)
		wid := in.wid[s]
		kr, kv := &in.keyRank[wid], &in.keyVal[wid]
		for i := lo; i < hi; i++ {
			for k, wd := range ws.widths[i] {
				if wd <= 0 {
					continue
				}
				rk := kr[k]
				j := count[rk]
				count[rk]++
				lp.colPl[j], lp.node[j], lp.colSeg[j], lp.colCap[j] = int32(i), in.pls[i].node, uint8(k), int32(c)
				lp.colU[j], lp.colRank[j] = wd, rk
				lp.colV[j] = float64(kv[k] * scale)
			}
		}
	}
	lp.grouped = true
}

// addTo adds the LP's solution to alloc (per placement). A grouped column's
// amount goes to its members in placement order, each up to its width: the
// order in which the full LP's greedy fills columns of equal value, and
// its simplex takes back the last ones first.
func (in *instance) addTo(lp *resLP, alloc []Vec) {
	r := lp.r
	for j, x := range lp.x {
		if i := lp.colPl[j]; i >= 0 {
			alloc[i][r] += x
		}
	}
	if !lp.grouped {
		return
	}
	nR := in.nRanks
	left := lp.ws.group // reused: the members' remaining share per group
	clear(left)
	for j, x := range lp.x {
		if lp.colPl[j] < 0 {
			left[int(lp.node[j])*nR+int(lp.colRank[j])] = x
		}
	}
	for i := range in.pls {
		pl := &in.pls[i]
		if lp.capOf != nil && lp.capOf[pl.svc] >= 0 {
			continue
		}
		wds := &lp.ws.widths[i]
		if wds[0]|wds[1]|wds[2]|wds[3] == 0 {
			continue
		}
		g := left[int(pl.node)*nR:]
		kr := &in.keyRank[in.wid[pl.svc]]
		var got int64
		for k, wd := range wds {
			if wd > 0 {
				a := min(wd, g[kr[k]])
				g[kr[k]] -= a
				got += a
			}
		}
		alloc[i][r] += got
	}
}

// greedy fills columns by value, each up to its bound, its node's spare
// capacity and its cap row: the fallback plan when the simplex hits its cap.
func (lp *resLP) greedy() {
	nodeLeft := slices.Clone(lp.nodeCap)
	capLeft := slices.Clone(lp.capK)
	clear(lp.x)
	budgetLeft := lp.budgetLeft()
	for j := range lp.colU { // columns are in greedy order
		n := lp.node[j]
		a := min(lp.colU[j], nodeLeft[n], budgetLeft)
		if c := lp.colCap[j]; c >= 0 {
			a = min(a, capLeft[c])
		}
		a = max(a, 0)
		lp.x[j] = a
		nodeLeft[n] -= a
		budgetLeft -= a
		if c := lp.colCap[j]; c >= 0 {
			capLeft[c] -= a
		}
	}
}

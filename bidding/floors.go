package bidding

import (
	"fmt"
	"math/bits"
	"slices"
)

// byNode returns placement indexes grouped by node (each group in placement
// order, i.e. by service name) and the start of each node's group.
func (in *instance) byNode() (order []int32, start []int32) {
	start = make([]int32, len(in.nodes)+1)
	for i := range in.pls {
		start[in.pls[i].node+1]++
	}
	for n := range in.nodes {
		start[n+1] += start[n]
	}
	order = make([]int32, len(in.pls))
	next := slices.Clone(start[:len(in.nodes)])
	for i := range in.pls {
		n := in.pls[i].node
		order[next[n]] = int32(i)
		next[n]++
	}
	return order, start
}

// fairFloorFrac is the part of a node's spare capacity (after minimums)
// that floors may take; the rest goes by utility, where weights and boosts
// decide who wins contested units.
const fairFloorFrac = 0.5

// computeFloors gives every placement its minimum, then a weighted fair,
// Leontief-scaled entitlement of its forecast median: on each node
// fairFloorFrac of the spare capacity of each resource is divided in
// proportion to the services' unboosted weights, and a placement receives
// the same fraction φ of its median demand on every resource, the largest
// fraction its entitlements allow. Boosts do not change floors, so a boost never lowers another's floor.
// When the minimums alone exceed a node, they are scaled down by largest
// remainder and the problem is reported.
func (in *instance) computeFloors(order, start []int32) {
	// The passes over placements run in placement order, which is each
	// node's group order (byNode keeps it), so every per-node sum and the
	// running "used" below accumulate in the same order as a walk of each
	// group would — the same floats — while reading the arrays sequentially.
	nN := len(in.nodes)
	type nodeSums struct {
		min   [NumResources]int64
		spare [NumResources]int64
		used  [NumResources]int64
		wsum  [NumResources]float64
	}
	ns := make([]nodeSums, nN)
	for r := range NumResources {
		rps := in.rp[r]
		for i := range in.pls {
			rp := &rps[i]
			t := &ns[in.pls[i].node]
			t.min[r] += rp.min
			if d := medianDemand(rp); d > 0 {
				t.wsum[r] += in.base[in.pls[i].svc]
			}
		}
	}
	var mins []int64
	var scaledRes [NumResources]bool
	anyScaled := false
	scaledNode := make([][NumResources]bool, 0)
	for n := range nN {
		grp := order[start[n]:start[n+1]]
		if len(grp) == 0 {
			continue
		}
		t := &ns[n]
		scaledRes = [NumResources]bool{}
		for r := range NumResources {
			c := in.capEff[n][r]
			m := t.min[r]
			if m > c {
				in.problems = append(in.problems, fmt.Sprintf("node %s: the minimums of %s (%d) exceed its capacity %d: minimums scaled down", in.nodes[n].Name, Resource(r), m, c))
				rps := in.rp[r]
				mins = mins[:0]
				for _, i := range grp {
					mins = append(mins, rps[i].min)
				}
				scaled := largestRemainder(mins, m, c)
				for k, i := range grp {
					rps[i].floor = scaled[k]
				}
				scaledRes[r] = true
				continue
			}
			t.spare[r] = c - m
		}
		if scaledRes != ([NumResources]bool{}) {
			if !anyScaled {
				scaledNode = make([][NumResources]bool, nN)
				anyScaled = true
			}
			scaledNode[n] = scaledRes
		}
	}
	for i := range in.pls {
		pl := &in.pls[i]
		t := &ns[pl.node]
		var rps [NumResources]*resPl
		for r := range NumResources {
			rps[r] = &in.rp[r][i]
			if !anyScaled || !scaledNode[pl.node][r] {
				rps[r].floor = rps[r].min
			}
		}
		w := in.base[pl.svc]
		phi := 1.0
		var ds [NumResources]int64
		for r := range NumResources {
			d := medianDemand(rps[r])
			ds[r] = d
			if d <= 0 || t.spare[r] == 0 {
				continue
			}
			e := float64(float64(float64(t.spare[r])*fairFloorFrac)*w) / t.wsum[r]
			phi = min(phi, e/float64(d))
		}
		for r := range NumResources {
			d := ds[r]
			if d <= 0 || phi <= 0 {
				continue
			}
			if t.spare[r] == 0 {
				continue
			}
			x := min(int64(float64(phi*float64(d))), d)
			if t.used[r]+x > t.spare[r] {
				x = t.spare[r] - t.used[r]
			}
			t.used[r] += x
			rps[r].floor += x
		}
	}
	in.trimFloors()
}

// medianDemand is how far below its (bounded) median a placement's minimum is.
func medianDemand(rp *resPl) int64 {
	if !rp.has || rp.hi == 0 {
		return 0
	}
	return max(0, min(rp.q.P50, rp.hi)-rp.min)
}

// largestRemainder scales amounts (summing to total > 0) so that they sum to
// target ≤ total: each gets floor(a·target/total), computed exactly, and the
// units left over go to the largest remainders, ties to the lower index.
func largestRemainder(amounts []int64, total, target int64) []int64 {
	out := make([]int64, len(amounts))
	if total <= 0 || target <= 0 {
		return out
	}
	rems := make([]uint64, len(amounts))
	var sum int64
	for i, a := range amounts {
		hi, lo := bits.Mul64(uint64(a), uint64(target))
		q, rem := bits.Div64(hi, lo, uint64(total)) // a ≤ total, so hi < total
		out[i], rems[i] = int64(q), rem
		sum += int64(q)
	}
	idx := make([]int, len(amounts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case rems[a] > rems[b]:
			return -1
		case rems[a] < rems[b]:
			return 1
		}
		return 0
	})
	for k := 0; sum < target && k < len(idx); k++ {
		out[idx[k]]++
		sum++
	}
	return out
}

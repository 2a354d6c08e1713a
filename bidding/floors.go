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
	var mins []int64
	for n := range in.nodes {
		grp := order[start[n]:start[n+1]]
		if len(grp) == 0 {
			continue
		}
		var spare [NumResources]int64
		var wsum [NumResources]float64
		for r := range NumResources {
			c := in.capEff[n][r]
			var m int64
			rps := in.rp[r]
			for _, i := range grp {
				m += rps[i].min
			}
			if m > c {
				in.problems = append(in.problems, fmt.Sprintf("node %s: the minimums of %s (%d) exceed its capacity %d: minimums scaled down", in.nodes[n].Name, Resource(r), m, c))
				mins = mins[:0]
				for _, i := range grp {
					mins = append(mins, rps[i].min)
				}
				scaled := largestRemainder(mins, m, c)
				for k, i := range grp {
					rps[i].floor = scaled[k]
				}
				continue
			}
			spare[r] = c - m
			for _, i := range grp {
				rp := &rps[i]
				rp.floor = rp.min
				if d := medianDemand(rp); d > 0 {
					wsum[r] += in.base[in.pls[i].svc]
				}
			}
		}
		var used [NumResources]int64
		for _, i := range grp {
			w := in.base[in.pls[i].svc]
			phi := 1.0
			for r := range NumResources {
				d := medianDemand(&in.rp[r][i])
				if d <= 0 || spare[r] == 0 {
					continue
				}
				e := float64(float64(float64(spare[r])*fairFloorFrac)*w) / wsum[r]
				phi = min(phi, e/float64(d))
			}
			for r := range NumResources {
				rp := &in.rp[r][i]
				d := medianDemand(rp)
				if d <= 0 || phi <= 0 {
					continue
				}
				if spare[r] == 0 {
					continue
				}
				x := min(int64(float64(phi*float64(d))), d)
				if used[r]+x > spare[r] {
					x = spare[r] - used[r]
				}
				used[r] += x
				rp.floor += x
			}
		}
	}
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

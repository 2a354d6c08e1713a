package bidding

import "fmt"

// trimFloors keeps floors within the share caps and the cluster budgets.
// A floor is a placement's minimum (possibly scaled down to its node) plus
// a fair part; only fair parts are trimmed, by largest remainder, so that
// a service's floors fit its share cap and all floors fit the budget (whose
// fair parts may take fairFloorFrac of what the minimums leave, as on a
// node). Minimums are guaranteed, so minimums above a cap stay and are
// reported; minimums above a budget are scaled down to it and reported,
// as minimums above a node are: the plan never overcommits silently.
func (in *instance) trimFloors() {
	for r := range NumResources {
		if in.opts.ShareCap > 0 {
			in.trimToShareCap(Resource(r))
		}
		if in.opts.Budget[r] > 0 {
			in.trimToBudget(Resource(r))
		}
	}
}

// fairPart is the part of a floor above its minimum (0 where the minimums
// were scaled down, as then floor ≤ min).
func fairPart(rp *resPl) int64 { return max(0, rp.floor-rp.min) }

// shareLimit is the most of resource r one service may hold under the
// share cap: ShareCap × the cluster's effective capacity.
func (in *instance) shareLimit(r Resource) int64 {
	var c int64
	for n := range in.nodes {
		c += in.capEff[n][r]
	}
	return int64(float64(in.opts.ShareCap * float64(c)))
}

func (in *instance) trimToShareCap(r Resource) {
	limit := in.shareLimit(r)
	rps := in.rp[r]
	for lo := 0; lo < len(in.pls); {
		s := in.pls[lo].svc
		hi := lo
		var floors, fair int64
		for hi < len(in.pls) && in.pls[hi].svc == s {
			floors += rps[hi].floor
			fair += fairPart(&rps[hi])
			hi++
		}
		if floors > limit {
			base := floors - fair
			if base > limit {
				in.problems = append(in.problems, fmt.Sprintf("service %s: the minimums of %s (%d) exceed its share cap %d", in.svcNames[s], r, base, limit))
			}
			in.scaleFair(rps[lo:hi], fair, max(0, limit-base))
		}
		lo = hi
	}
}

func (in *instance) trimToBudget(r Resource) {
	budget := in.opts.Budget[r]
	rps := in.rp[r]
	var floors, fair int64
	for i := range rps {
		floors += rps[i].floor
		fair += fairPart(&rps[i])
	}
	if floors <= budget {
		return
	}
	base := floors - fair
	if base > budget {
		in.problems = append(in.problems, fmt.Sprintf("cluster: the minimums of %s (%d) exceed its budget %d: minimums scaled down", r, base, budget))
		amounts := make([]int64, len(rps))
		for i := range rps {
			amounts[i] = rps[i].floor - fairPart(&rps[i])
		}
		for i, a := range largestRemainder(amounts, base, budget) {
			rps[i].floor = a
		}
		return
	}
	in.scaleFair(rps, fair, int64(float64(float64(budget-base)*fairFloorFrac)))
}

// scaleFair scales the fair parts of rps (summing to fair) down to target.
func (in *instance) scaleFair(rps []resPl, fair, target int64) {
	if fair <= target {
		return
	}
	parts := make([]int64, len(rps))
	for i := range rps {
		parts[i] = fairPart(&rps[i])
	}
	for i, a := range largestRemainder(parts, fair, target) {
		rps[i].floor += a - parts[i]
	}
}

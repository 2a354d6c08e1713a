package bidding

// applyDeadband keeps a placement's previous allocation of a resource when
// the new one differs from it by at most Deadband·previous, the previous one
// is within the placement's floor and bound, and keeping it breaks no node
// capacity, share cap or cluster budget. Memory is only held up, never held down: keeping a
// previous grant below a grown one would allocate under the forecast. Decreases kept first (they only free capacity),
// then increases, each in placement order.
func (in *instance) applyDeadband(prev *Plan, res *result) {
	if prev == nil || in.opts.Deadband <= 0 || len(prev.Allocations) == 0 {
		return
	}
	old := make([]Vec, len(in.pls))
	found := make([]bool, len(in.pls))
	j := 0
	for i := range in.pls {
		k := PlacementKey{Service: in.svcNames[in.pls[i].svc], Node: in.nodes[in.pls[i].node].Name}
		for j < len(prev.Allocations) && (PlacementKey{prev.Allocations[j].Service, prev.Allocations[j].Node}).Less(k) {
			j++
		}
		if j < len(prev.Allocations) && prev.Allocations[j].Service == k.Service && prev.Allocations[j].Node == k.Node {
			a := &prev.Allocations[j]
			old[i] = Vec{a.CPU, a.Memory, a.IO, a.Net}
			found[i] = true
		}
	}
	nodeLeft := make([]Vec, len(in.nodes))
	svcUsed := make([]Vec, len(in.svcs))
	budgetLeft := in.opts.Budget // per resource; used only where > 0
	for n := range in.nodes {
		nodeLeft[n] = in.capEff[n]
	}
	for i := range in.pls {
		for r := range NumResources {
			nodeLeft[in.pls[i].node][r] -= res.alloc[i][r]
			svcUsed[in.pls[i].svc][r] += res.alloc[i][r]
			budgetLeft[r] -= res.alloc[i][r]
		}
	}
	var limit Vec
	for r := range NumResources {
		limit[r] = in.shareLimit(Resource(r))
	}
	for pass := 0; pass < 2; pass++ {
		for i := range in.pls {
			if !found[i] {
				continue
			}
			pl := &in.pls[i]
			for r := range NumResources {
				cur, was := res.alloc[i][r], old[i][r]
				if rp := &in.rp[r][i]; was == cur || was < rp.floor || was > rp.hi {
					continue
				}
				diff := was - cur
				if float64(max(diff, -diff)) > float64(in.opts.Deadband*float64(was)) {
					continue
				}
				if pass == 0 && diff > 0 || pass == 1 && diff < 0 {
					continue
				}
				if diff < 0 && Resource(r) == Memory {
					continue // never hold memory below a grown grant: a shortfall kills
				}
				if diff > 0 {
					if nodeLeft[pl.node][r] < diff {
						continue
					}
					if in.opts.ShareCap > 0 && svcUsed[pl.svc][r]+diff > limit[r] {
						continue
					}
					if in.opts.Budget[r] > 0 && budgetLeft[r] < diff {
						continue
					}
				}
				res.alloc[i][r] = was
				if res.held == nil {
					res.held = make([][NumResources]bool, len(in.pls))
				}
				res.held[i][r] = true
				nodeLeft[pl.node][r] -= diff
				svcUsed[pl.svc][r] += diff
				budgetLeft[r] -= diff
			}
		}
	}
}

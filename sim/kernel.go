package sim

import (
	"cmp"
	"math"
	"slices"

	"github.com/allot-dev/allot/bidding"
)

// oomLoss is the share of an epoch a service OOM-killed in it loses to the
// kill and its restart: measured live (make live, static limits at the p95
// of the history, restart on failure): 35 epochs' worth of steps lost or
// cut short over 150 service-epochs above the limit, 0.24 each.
const oomLoss = 0.25

// cfsEfficiency is what a CFS quota lets a load that wants more than it
// have, as a fraction of the quota: measured live, the median of
// got/limit over container-epochs asking at least 5% above their limit
// was 0.955 (allot, 166) and 0.959 (static, 386); bursts, the kernel's
// per-CPU slices and the period's end leave some of a quota unused.
const cfsEfficiency = 0.96

// Borrow is how the simulated Allot client enforces memory
// (client.memory_borrow, enforce.Borrow): allot sim --memory-borrow.
const (
	// BorrowOff: the allocation is a hard limit (client.memory_borrow =
	// false).
	BorrowOff = "off"
	// BorrowOn: the allocation is a reservation (the client's default); a
	// node's kernel kills only when its memory is all used, the service
	// furthest above its reservation first, until the rest fit. A second
	// kill the kernel makes before the first victim's memory is freed
	// takes the OOM decoy (enforce.Decoy), not a service.
	BorrowOn = "on"
	// BorrowSecondKill: as on, but every node that kills kills one more
	// service than needed, the next in the OOM killer's order — what the
	// kernel did without the decoy in 1 to 9 of 10 of kerneltest
	// TestMemoryBorrowKillsTheBorrower's runs (v1 memcg: a second kill
	// while the first victim's memory was still charged). The bound for
	// a node where the decoy is not in the OOM domain.
	BorrowSecondKill = "second-kill"
)

// Borrows is every --memory-borrow value.
func Borrows() []string { return []string{BorrowOff, BorrowOn, BorrowSecondKill} }

// Kernel is what the nodes' kernels do in an epoch with a policy's limits:
// each service gets its demand up to its allocation (cpu up to
// cfsEfficiency of it), less oomLoss of the epoch on every resource where
// it is OOM-killed. Who is killed depends on how the policy's client
// enforces memory:
//   - a hard limit (every baseline; the Allot client with
//     client.memory_borrow = false): a service whose memory demand is
//     above its allocation;
//   - borrowing (World.Borrow on or second-kill, for the allot policies and
//     the oracle):
//     the allocation is a reservation and the limit is the node's, so a
//     service is killed only when its node's memory is all used, and then
//     the kernel's OOM killer takes the service furthest above its
//     reservation first (enforce.OOMScoreAdj), until the rest fit.
type Kernel struct {
	w      *World
	memory []float64 // each node's memory: what borrowers share (the client's Borrow.Domain)
	borrow string
	killed []bool // per service, in the last epoch served
	order  []int
}

// NewKernel is the kernel model for policy's limits on w's nodes (their
// capacities, World.Capacities). Borrowers share a node's whole memory, as
// the client's hard limit is its capacity (client.capacity): the solver's
// headroom is kept out of the allocations, not out of the kernel's reach.
func NewKernel(w *World, nodes []bidding.Node, policy string) *Kernel {
	b := BorrowOff
	if w.BorrowsMemory(policy) {
		b = w.Borrow
	}
	n := len(w.Svcs)
	mem := make([]float64, len(nodes))
	for i, nd := range nodes {
		mem[i] = float64(nd.Capacity[bidding.Memory])
	}
	return &Kernel{w: w, memory: mem, borrow: b, killed: make([]bool, n)}
}

// BorrowsMemory says whether policy's client lets a service use memory
// above its allocation while its node has it, where w.Borrow is on: the
// allot policies, and the oracle, so that it stays the bound of what the
// same kernel can serve (with hard limits it could not use the memory
// the solver's headroom keeps unallocated, which borrowers do).
func (w *World) BorrowsMemory(policy string) bool {
	switch policy {
	case PolicyAllot, PolicyAllotNoFair, PolicyAllotNoBoost, PolicyOracle:
		return w.Borrow != "" && w.Borrow != BorrowOff
	}
	return false
}

// Served is what each service got in an epoch under alloc with demand,
// written to got (len(w.Svcs)) and returned.
func (k *Kernel) Served(alloc [][nr]int64, demand, got [][nr]float64) [][nr]float64 {
	k.kills(alloc, demand)
	m := int(bidding.Memory)
	for s, sv := range k.w.Svcs {
		up := 1.0
		if k.killed[s] {
			up = 1 - oomLoss
		}
		for r := range nr {
			switch {
			case !sv.Has[r]:
				got[s][r] = 0
			case r == m && k.borrow != BorrowOff && !k.killed[s]:
				got[s][r] = demand[s][r] // its own and borrowed memory
			default:
				got[s][r] = up * capped(r, demand[s][r], float64(alloc[s][r]))
			}
		}
	}
	return got
}

// Killed says whether service s was OOM-killed in the last epoch served.
func (k *Kernel) Killed(s int) bool { return k.killed[s] }

// kills decides who is OOM-killed in an epoch.
func (k *Kernel) kills(alloc [][nr]int64, demand [][nr]float64) {
	m := int(bidding.Memory)
	over := func(s int) float64 { return demand[s][m] - float64(alloc[s][m]) }
	for s, sv := range k.w.Svcs {
		k.killed[s] = sv.Has[m] && k.borrow == BorrowOff && over(s) > 0
	}
	if k.borrow == BorrowOff {
		return
	}
	for n := range k.memory {
		k.order = k.order[:0]
		used := 0.0
		for s, sv := range k.w.Svcs {
			if sv.Node == n && sv.Has[m] {
				k.order = append(k.order, s)
				used += demand[s][m]
			}
		}
		// the OOM killer's choice: furthest above its reservation first
		// (ties: the first service), until what is left fits the node
		slices.SortStableFunc(k.order, func(a, b int) int { return cmp.Compare(over(b), over(a)) })
		extra := 0
		if k.borrow == BorrowSecondKill {
			extra = 1
		}
		for i, s := range k.order {
			if used <= k.memory[n] {
				if i > 0 && extra > 0 { // a kill was needed: one more
					k.killed[s] = true
				}
				break
			}
			k.killed[s] = true
			// restarted, it holds at most its reservation for the rest
			// of the epoch
			used -= demand[s][m] - math.Min(demand[s][m], float64(alloc[s][m]))
		}
	}
}

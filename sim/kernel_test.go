package sim

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// TestKernelKills: under hard limits a service over its memory allocation
// is killed; borrowing, only when its node's memory is all used, and then
// the service furthest above its allocation first, until the rest fit.
func TestKernelKills(t *testing.T) {
	m := int(bidding.Memory)
	cases := []struct {
		name   string
		policy string
		borrow string
		alloc  []int64 // memory, per service (one node of 100)
		demand []float64
		killed []bool
	}{
		{"hard: over its own", PolicyVPA, BorrowOn, []int64{50, 50}, []float64{60, 30}, []bool{true, false}},
		{"allot by default: hard", PolicyAllot, BorrowOff, []int64{50, 50}, []float64{60, 30}, []bool{true, false}},
		{"borrowing: the node has room", PolicyAllot, BorrowOn, []int64{50, 50}, []float64{60, 30}, []bool{false, false}},
		{"borrowing: full, the borrower goes", PolicyAllot, BorrowOn, []int64{50, 50}, []float64{80, 45}, []bool{true, false}},
		{"borrowing: furthest above first, until it fits", PolicyAllot, BorrowOn, []int64{30, 40, 30}, []float64{50, 70, 10}, []bool{false, true, false}},
		{"borrowing: one kill is not enough", PolicyAllot, BorrowOn, []int64{30, 40, 30}, []float64{60, 70, 10}, []bool{true, true, false}},
		{"second kill: the next in order too", PolicyAllot, BorrowSecondKill, []int64{30, 40, 30}, []float64{50, 70, 10}, []bool{true, true, false}},
		{"second kill: none where none is needed", PolicyAllot, BorrowSecondKill, []int64{50, 50}, []float64{60, 30}, []bool{false, false}},
		{"the oracle borrows too", PolicyOracle, BorrowOn, []int64{50, 50}, []float64{60, 30}, []bool{false, false}},
		{"the baselines keep hard limits", PolicyReactive, BorrowOn, []int64{50, 50}, []float64{60, 30}, []bool{true, false}},
		{"borrowing: the node's whole memory, headroom included", PolicyAllot, BorrowOn, []int64{45, 45}, []float64{70, 30}, []bool{false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &World{Nodes: []string{"n"}, Borrow: tc.borrow}
			alloc := make([][nr]int64, len(tc.alloc))
			demand := make([][nr]float64, len(tc.alloc))
			for s := range tc.alloc {
				sv := Svc{Node: 0}
				sv.Has[m], sv.Has[bidding.CPU] = true, true
				w.Svcs = append(w.Svcs, sv)
				alloc[s][m], demand[s][m] = tc.alloc[s], tc.demand[s]
				alloc[s][bidding.CPU], demand[s][bidding.CPU] = 100, 100
			}
			k := NewKernel(w, []bidding.Node{{Name: "n", Capacity: bidding.Vec{1000, 100, 0, 0}}}, tc.policy)
			got := k.Served(alloc, demand, make([][nr]float64, len(w.Svcs)))
			for s := range tc.killed {
				if k.Killed(s) != tc.killed[s] {
					t.Errorf("service %d killed %v, want %v", s, k.Killed(s), tc.killed[s])
				}
				wantCPU, wantMem := cfsEfficiency*100, tc.demand[s]
				switch {
				case tc.killed[s]:
					wantCPU, wantMem = (1-oomLoss)*wantCPU, (1-oomLoss)*min(tc.demand[s], float64(tc.alloc[s]))
				case !w.BorrowsMemory(tc.policy):
					wantMem = min(tc.demand[s], float64(tc.alloc[s]))
				}
				if got[s][bidding.CPU] != wantCPU || got[s][m] != wantMem {
					t.Errorf("service %d got cpu %v memory %v, want %v and %v", s, got[s][bidding.CPU], got[s][m], wantCPU, wantMem)
				}
			}
		})
	}
}

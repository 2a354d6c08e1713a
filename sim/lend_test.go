package sim

import (
	"slices"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// TestLend: plan k's allocations (two services on one node) get what the
// client lends from the node's room, on what it measured over epoch k−1:
// a service far above its plan is lent up to its measure + 15%, water-filled
// when the room is short; memory and a service near its plan are not; one an
// io limit held, with no room to probe it, is lent on what it used.
func TestLend(t *testing.T) {
	cpu, mem, io := int(bidding.CPU), int(bidding.Memory), int(bidding.IO)
	for _, c := range []struct {
		name     string
		r        int
		demand   [2]float64 // over epoch 0 (under prev), both services
		prev     [2]int64   // epoch 0's allocations
		plan     [2]int64   // plan 1's
		capacity int64
		want     [2]int64 // epoch 1's allocations after the lend
	}{
		{"io burst from rest: lent its measure + 15%", io, [2]float64{400, 50}, [2]int64{0, 100}, [2]int64{100, 100}, 1000, [2]int64{460, 100}},
		{"near its plan: nothing", io, [2]float64{120, 50}, [2]int64{200, 100}, [2]int64{100, 100}, 1000, [2]int64{100, 100}},
		{"room short: water-filled", io, [2]float64{2000, 300}, [2]int64{0, 0}, [2]int64{100, 100}, 1000, [2]int64{100 + 800 - 245, 345}},
		{"held at a higher limit, no room to probe: lent what it used", io, [2]float64{5000, 50}, [2]int64{500, 495}, [2]int64{100, 100}, 1000, [2]int64{575, 100}},
		{"cpu unthrottled: the quota that lets its measure through", cpu, [2]float64{480, 50}, [2]int64{1000, 100}, [2]int64{100, 100}, 2000, [2]int64{100 + 475, 100}},
		{"memory is never lent", mem, [2]float64{4000, 50}, [2]int64{0, 100}, [2]int64{100, 100}, 10000, [2]int64{100, 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &World{Svcs: make([]Svc, 2)}
			prev, out := make([][nr]int64, 2), make([][nr]int64, 2)
			for s := range w.Svcs {
				w.Svcs[s].Has[c.r] = true
				w.Svcs[s].Demand[c.r] = []float64{c.demand[s], 0}
				prev[s][c.r], out[s][c.r] = c.prev[s], c.plan[s]
			}
			var eff [nr]int64
			eff[c.r] = c.capacity
			p := &allotPolicy{e: &env{w: w, eff: [][nr]int64{eff}, nodes: []bidding.Node{{Name: "n"}}}}
			p.e.record(prev)
			p.lend(1, out)
			if got := []int64{out[0][c.r], out[1][c.r]}; !slices.Equal(got, c.want[:]) {
				t.Errorf("allocations %v: want %v", got, c.want)
			}
		})
	}
}

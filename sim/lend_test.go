package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
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

// TestWithinEpoch: the looks' lend of epoch k, once its demand is known:
// the room left after the allocations shared among the services well above
// them (bidrule.LookWant, water-filled), counted for 1 −
// bidrule.LendReaction of the epoch; nothing where the room is not worth a
// probe, nothing for memory, nothing for the oracle; of the client's epoch
// where a trace step is not one (the live harness).
func TestWithinEpoch(t *testing.T) {
	cpu, mem, io := int(bidding.CPU), int(bidding.Memory), int(bidding.IO)
	const epoch = 5 * time.Minute
	frac := 1 - bidrule.LendReaction(epoch)
	part := func(g float64) int64 { return int64(frac * g) }
	partLive := func(g float64) int64 { return int64((1 - bidrule.LendReaction(5*time.Second)) * g) }
	for _, c := range []struct {
		name     string
		r        int
		oracle   bool
		client   time.Duration // World.ClientEpoch
		demand   [2]float64    // over epoch k
		alloc    [2]int64      // plan k and the epoch step's lend
		capacity int64
		want     [2]int64
	}{
		{"io burst: lent its demand + 2% for the rest of the epoch", io, false, 0, [2]float64{400, 50}, [2]int64{100, 100}, 1000, [2]int64{100 + part(308), 100}},
		{"near its allocation: nothing", io, false, 0, [2]float64{105, 50}, [2]int64{100, 100}, 1000, [2]int64{100, 100}},
		{"past the look's jump: lent", io, false, 0, [2]float64{112, 50}, [2]int64{100, 100}, 1000, [2]int64{100 + part(14), 100}},
		{"room short: water-filled", io, false, 0, [2]float64{2000, 300}, [2]int64{100, 100}, 1000, [2]int64{100 + part(800-206), 100 + part(206)}},
		{"room under 2% of io per service: no probe, no lend", io, false, 0, [2]float64{2000, 300}, [2]int64{490, 495}, 1000, [2]int64{490, 495}},
		{"cpu: the quota that lets its demand through", cpu, false, 0, [2]float64{480, 50}, [2]int64{100, 100}, 2000, [2]int64{100 + part(410), 100}},
		{"cpu room under 100m: nothing", cpu, false, 0, [2]float64{480, 50}, [2]int64{100, 1850}, 2000, [2]int64{100, 1850}},
		{"memory is never lent", mem, false, 0, [2]float64{4000, 50}, [2]int64{100, 100}, 10000, [2]int64{100, 100}},
		{"the oracle does not lend", io, true, 0, [2]float64{400, 50}, [2]int64{100, 100}, 1000, [2]int64{100, 100}},
		{"a 5 s client epoch (live): lent for what is left of it", io, false, 5 * time.Second, [2]float64{400, 50}, [2]int64{100, 100}, 1000, [2]int64{100 + partLive(308), 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &World{Svcs: make([]Svc, 2), Epoch: epoch, ClientEpoch: c.client}
			alloc := make([][nr]int64, 2)
			demand := make([][nr]float64, 2)
			for s := range w.Svcs {
				w.Svcs[s].Has[c.r] = true
				alloc[s][c.r], demand[s][c.r] = c.alloc[s], c.demand[s]
			}
			var eff [nr]int64
			eff[c.r] = c.capacity
			p := &allotPolicy{e: &env{w: w, eff: [][nr]int64{eff}, nodes: []bidding.Node{{Name: "n"}}}, cfg: allotCfg{oracle: c.oracle}}
			p.withinEpoch(0, alloc, demand)
			if got := []int64{alloc[0][c.r], alloc[1][c.r]}; !slices.Equal(got, c.want[:]) {
				t.Errorf("allocations %v: want %v", got, c.want)
			}
		})
	}
}

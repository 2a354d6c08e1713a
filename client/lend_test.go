package client

import (
	"slices"
	"testing"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/usage"
)

// lendOf is what bidrule lends a lone service measured at seen under limit
// (max 0: none) with room unallocated.
func lendOf(seen float64, limit, max, room int64) int64 {
	return bidrule.Lend([]float64{bidrule.LendWant(seen, float64(limit), float64(max))}, float64(room))[0]
}

// Two services on a node with 1000 MB/s of io, 300 of it allocated: one
// measured far above its plan is lent the room until the next plan, one
// whose usage is near its plan is not.
func TestLendRoom(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		burst    float64 // what "burst" used over the interval (io, B/s)
		max      int64
		lent     int64 // "burst"'s io limit after the step (the plan's: 100e6)
		lentCalm bool
	}{
		{name: "a burst is lent the room", burst: 270e6, lent: 100e6 + lendOf(270e6, 100e6, 0, 1e9-300e6)},
		{name: "never above its max", burst: 270e6, max: 200e6, lent: 200e6},
		{name: "usage near the plan: no lend", burst: 120e6, lent: 100e6},
		{name: "lend_room = false", cfg: Config{NoLend: true}, burst: 270e6, lent: 100e6},
		{name: "static policy: limits are its own", cfg: Config{Policy: baseline.Static}, burst: 270e6, lent: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI()
			burst, calm := svc("burst", "b"), svc("calm", "c")
			burst.Def.Max[bidding.IO] = tc.max
			rt := newFakeRuntime(burst, calm)
			cfg := tc.cfg
			cfg.Node, cfg.API, cfg.Runtimes = "n1", f, []workload.Runtime{rt}
			cfg.Measure = &fakeMeasure{use: map[string]usage.Usage{"b": use(bidding.IO, tc.burst), "c": use(bidding.IO, 150e6)}}
			run(t, cfg)
			a, b := alloc("burst", "n1", 100), alloc("calm", "n1", 100)
			a.IO, b.IO = 100e6, 200e6
			p := plan(1, 10, a, b)
			p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{2000, 0, 1e9, 0}}}
			pushEpoch(t, f, p) // the instances' first interval: partial, not measured
			p.Epoch, p.Index = 2, 11
			pushEpoch(t, f, p)
			if tc.lent < 0 {
				return // the static policy sizes from history; nothing here to lend on
			}
			got := rt.lastLimit("burst", bidding.IO)
			if got != tc.lent {
				t.Fatalf("burst's io limit %d after the step: want %d", got, tc.lent)
			}
			if l := rt.lastLimit("calm", bidding.IO); l != 200e6 {
				t.Fatalf("calm's io limit %d: want its plan's 200e6", l)
			}
		})
	}
}

// Room short of every want is shared by water-filling, and a zero limit
// (no limit at all) is not lent to.
func TestLendRoomShared(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("a", "a"), svc("b", "b"), svc("free", "f"))
	run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: &fakeMeasure{use: map[string]usage.Usage{
		"a": cpuUsage(1000), "b": cpuUsage(200), "f": cpuUsage(900)}}})
	p := plan(1, 10, alloc("a", "n1", 100), alloc("b", "n1", 100), alloc("free", "n1", 0))
	p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{900, 0, 0, 0}}}
	pushEpoch(t, f, p)
	p.Epoch, p.Index = 2, 11
	pushEpoch(t, f, p)
	// room 700: b wants 200×1.15−100 = 130, a 1150−100 = 1050: b met, a the rest
	got := []int64{rt.lastLimit("a", bidding.CPU), rt.lastLimit("b", bidding.CPU), rt.lastLimit("free", bidding.CPU)}
	if want := []int64{100 + 700 - 130, 100 + 130, 0}; !slices.Equal(got, want) {
		t.Fatalf("cpu limits %v: want %v", got, want)
	}
}

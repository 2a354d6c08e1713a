package client

import (
	"testing"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/usage"
)

// Between epoch steps the client looks for services held back: one that
// reaches its io limit mid-epoch is probed and lent the room, on top of
// what it was lent already when it presses again; the next plan replaces
// the lends. Off with lend_room = false and under the static policy.
func TestLookLendsWithinTheEpoch(t *testing.T) {
	lookLendOf := func(seen float64, limit, max, room int64) int64 {
		return bidrule.Lend([]float64{bidrule.LookWant(seen, float64(limit), float64(max))}, float64(room))[0]
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		lends bool
	}{
		{name: "lent mid-epoch", lends: true},
		{name: "lend_room = false", cfg: Config{NoLend: true}},
		{name: "static policy", cfg: Config{Policy: baseline.Static}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI()
			f.settings.EpochMS = 400 // a look every 100 ms, probes of 100 ms windows
			rt := newFakeRuntime(svc("burst", "b"), svc("calm", "c"))
			m := &fakeMeasure{use: map[string]usage.Usage{"b": use(bidding.IO, 80e6), "c": use(bidding.IO, 150e6)},
				probe: map[string]usage.Usage{}}
			cfg := tc.cfg
			cfg.Node, cfg.API, cfg.Runtimes, cfg.Measure = "n1", f, []workload.Runtime{rt}, m
			run(t, cfg)
			a, b := alloc("burst", "n1", 100), alloc("calm", "n1", 100)
			a.IO, b.IO = 100e6, 200e6
			p := plan(1, 10, a, b)
			p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{2000, 0, 1e9, 0}}}
			pushEpoch(t, f, p)
			p.Epoch, p.Index = 2, 11
			pushEpoch(t, f, p)
			if !tc.lends {
				m.set("b", use(bidding.IO, 99e6))
				time.Sleep(500 * time.Millisecond) // several looks' worth: none may lend
				if got := rt.lastLimit("burst", bidding.IO); tc.cfg.NoLend && got != 100e6 {
					t.Fatalf("burst's io limit %d: want the plan's 100e6", got)
				}
				if n := rt.lastLimit("burst", bidding.IO); n > 100e6 {
					t.Fatalf("burst's io limit %d: lent with lending off", n)
				}
				return
			}
			// At its limit mid-epoch; the probe reads 270 MB/s: lent
			// 270 × 1.02 − 100 of the 700 left (bidrule.LookWant).
			m.mu.Lock()
			m.probe["b"] = use(bidding.IO, 270e6)
			m.mu.Unlock()
			m.set("b", use(bidding.IO, 99e6))
			first := 100e6 + lookLendOf(270e6, 100e6, 0, 700e6)
			waitfor.True(t, "burst lent the room within the epoch", 5*time.Second, func() bool {
				return rt.lastLimit("burst", bidding.IO) == first
			})
			// At the lent limit and still wanting more: lent more on top,
			// from what is left.
			m.mu.Lock()
			m.probe["b"] = use(bidding.IO, 500e6)
			m.mu.Unlock()
			m.set("b", use(bidding.IO, 0.99*float64(first)))
			second := first + lookLendOf(500e6, first, 0, 700e6-(first-100e6))
			waitfor.True(t, "burst lent more", 5*time.Second, func() bool {
				return rt.lastLimit("burst", bidding.IO) == second
			})
			if l := rt.lastLimit("calm", bidding.IO); l != 200e6 {
				t.Fatalf("calm's io limit %d: want its plan's 200e6", l)
			}
			// The next plan replaces the lends, and its epoch step probes
			// burst again (a look probed it: the interval's usage, partly
			// under the lend, is neither its demand nor held at its limit):
			// it bids what the probe reads, the burst over, 120 MB/s, and
			// is not lent (138 is not 50% above the plan's 100).
			m.mu.Lock()
			m.probe["b"] = use(bidding.IO, 120e6)
			m.mu.Unlock()
			m.set("b", use(bidding.IO, 80e6))
			n := rt.appliedCount()
			p.Epoch, p.Index = 3, 12
			q := pushEpoch(t, f, p).Resources[bidding.IO.String()]
			if q.P50 != 120e6 || q.P90 != 120e6 {
				t.Fatalf("burst's io bid after the looks' lends %+v: want p50 and p90 at the step's probe, 120e6", q)
			}
			var limits []int64
			for _, as := range rt.appliedAll()[n:] {
				for _, a := range as {
					if a.Service == "burst" {
						limits = append(limits, a.IO)
					}
				}
			}
			if len(limits) < 3 || limits[0] != 100e6 || limits[1] <= 100e6 || limits[len(limits)-1] != 100e6 {
				t.Fatalf("burst's io limits applied from plan 3 on %v: want the plan's 100e6, a probe's lift, the plan's back", limits)
			}
		})
	}
}

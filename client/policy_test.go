package client

import (
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/usage"
)

// TestStaticPolicy: under policy "static" the runtime gets each service's
// p95 of its imported history, scaled down in proportion when they exceed
// the node's capacity (as the plan states it: after headroom), whatever the plan says; a service
// with no history keeps the plan's allocation; one the plan does not
// allocate to yet gets its static limits all the same; bids are still sent
// (shadow mode).
func TestStaticPolicy(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	hist := func(svc string, vals ...float64) api.UsageHistory {
		return api.UsageHistory{Service: svc, Node: "n1", IntervalMS: 300000,
			Points: map[string][]api.HistoryPoint{"cpu": histPoints(t0, 5*time.Minute, vals...)}}
	}
	ramp := make([]float64, 101) // p95 = 950
	for i := range ramp {
		ramp[i] = float64(i * 10)
	}
	flat := make([]float64, 50)
	for i := range flat {
		flat[i] = 300
	}
	for _, tc := range []struct {
		name     string
		capacity int64
		web, api int64 // cpu applied
	}{
		{"fits: as sized", 2000, 950, 300},
		{"over the node's capacity after headroom: in proportion", 1000, 950 * 1000 / 1250, 300 * 1000 / 1250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI()
			f.history = map[string]api.UsageHistory{"web/n1": hist("web", ramp...), "api/n1": hist("api", flat...)}
			rt := newFakeRuntime(svc("web", "a"), svc("api", "b"), svc("db", "c"))
			m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100), "b": cpuUsage(100), "c": cpuUsage(100)}}
			run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: m, Policy: "static"})
			waitfor.True(t, "services registered", 5*time.Second, func() bool { return f.registered("db") })
			// api has no allocation in the plan yet: hand-set limits do not wait for one
			p := plan(1, 10, alloc("web", "n1", 111), alloc("db", "n1", 333))
			p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{bidding.CPU: tc.capacity}}}
			f.plans <- p
			waitfor.True(t, "the plan applied and a bid sent", 5*time.Second, func() bool {
				return rt.appliedCount() > 0 && len(f.lastBids()) == 3
			})
			got := map[string]int64{}
			for _, a := range rt.lastApplied() {
				got[a.Service] = a.CPU
			}
			if got["web"] != tc.web || got["api"] != tc.api || got["db"] != 333 {
				t.Fatalf("applied %v, want web %d, api %d and db the plan's 333", got, tc.web, tc.api)
			}
		})
	}
	if _, err := New(Config{Node: "n1", API: newFakeAPI(), Policy: "vpa-ish"}); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
}

// TestStaticPolicyKeepsAwayServicesInTheFit: a service whose container is
// restarting keeps its share of the node: the others' hand-set limits do
// not grow while it is away.
func TestStaticPolicyKeepsAwayServicesInTheFit(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	flat := func(svc string, v float64) api.UsageHistory {
		vals := make([]float64, 20)
		for i := range vals {
			vals[i] = v
		}
		return api.UsageHistory{Service: svc, Node: "n1", IntervalMS: 300000, Points: map[string][]api.HistoryPoint{"cpu": histPoints(t0, 5*time.Minute, vals...)}}
	}
	f := newFakeAPI()
	f.history = map[string]api.UsageHistory{"web/n1": flat("web", 600), "api/n1": flat("api", 600)}
	rt := newFakeRuntime(svc("web", "a"), svc("api", "b"))
	m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100), "b": cpuUsage(100)}}
	run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: m, Policy: "static"})
	waitfor.True(t, "services registered", 5*time.Second, func() bool { return f.registered("api") })
	p := plan(1, 10, alloc("web", "n1", 1), alloc("api", "n1", 1))
	p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{bidding.CPU: 1000}}}
	f.plans <- p
	webCPU := func() int64 {
		for _, a := range rt.lastApplied() {
			if a.Service == "web" {
				return a.CPU
			}
		}
		return -1
	}
	waitfor.True(t, "web at half the node", 5*time.Second, func() bool { return webCPU() == 500 })
	n := rt.appliedCount()
	rt.set(svc("web", "a")) // api's container restarts
	waitfor.True(t, "the plan re-applied", 5*time.Second, func() bool { return rt.appliedCount() > n })
	if got := webCPU(); got != 500 {
		t.Fatalf("web's static limit became %dm while api was away, want 500m", got)
	}
}

package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/usage"
)

func throttled(use, limit, throttledMs, periods float64) usage.Usage {
	u := cpuUsage(use)
	u.CPULimit, u.Throttled, u.ThrottledPeriods, u.HaveThrottled = int64(limit), throttledMs, periods, true
	return u
}

func waiting(u usage.Usage, ms float64) usage.Usage {
	u.Waiting, u.HaveWaiting = ms, true
	return u
}

func TestDemand(t *testing.T) {
	mem := func(use, limit float64, failcnt uint64) usage.Usage {
		var u usage.Usage
		u.Value[bidding.Memory], u.Have[bidding.Memory] = use, true
		u.MemoryLimit, u.MemFailcnt, u.HaveMemEvents = int64(limit), failcnt, true
		return u
	}
	for _, tc := range []struct {
		name    string
		r       bidding.Resource
		u       usage.Usage
		want    float64
		pressed bool
	}{
		{"cpu unthrottled", bidding.CPU, cpuUsage(300), 300, false},
		{"cpu throttled at its quota: the bound, at most 50% above the quota", bidding.CPU, throttled(98, 100, 1800, 0.9), 150, true},
		{"cpu throttled at its quota, a tight bound", bidding.CPU, throttled(98, 100, 20, 0.9), 118, true},
		{"cpu throttled now and then, well under its quota", bidding.CPU, throttled(40, 100, 30, 0.3), 40, false},
		{"cpu throttled rarely", bidding.CPU, throttled(99, 100, 5, 0.05), 99, false},
		{"cpu without a limit", bidding.CPU, throttled(500, 0, 0, 0), 500, false},
		{"cpu without a limit, waiting for CPUs others hold", bidding.CPU, waiting(throttled(800, 0, 0, 0), 700), 1500, true},
		{"cpu under a quota it does not reach, waiting", bidding.CPU, waiting(throttled(500, 1000, 0, 0), 700), 500, false},
		{"memory under its limit", bidding.Memory, mem(100, 200, 0), 100, false},
		{"memory hit its limit", bidding.Memory, mem(190, 200, 3), 250, true},
		{"memory limit hit but no limit known", bidding.Memory, mem(190, 0, 3), 190, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pressed := Demand(tc.r, tc.u)
			if got != tc.want || pressed != tc.pressed {
				t.Fatalf("Demand = %v, %v; want %v, %v", got, pressed, tc.want, tc.pressed)
			}
		})
	}
}

// A service held at its 100m floor by the kernel, which really wants 1.5
// cores: the node has room, so the client lifts its limit into that room
// for a moment, measures 1.5 cores, puts the limit back, and bids for 1.5
// cores (not the 1.9 its throttled time would suggest).
func TestPressedServiceIsProbedAndBidsItsDemand(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	m := &fakeMeasure{use: map[string]usage.Usage{"a": throttled(100, 100, 1800, 0.95)},
		probe: map[string]usage.Usage{"a": cpuUsage(1500)}}
	start(t, f, rt, m, "")
	p := plan(1, 10, alloc("web", "n1", 100))
	p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{2000, 0, 0, 0}}}
	f.plans <- p
	waitfor.True(t, "a bid", 5*time.Second, func() bool { return f.lastBids() != nil })
	rt.mu.Lock()
	applied := rt.applied
	rt.mu.Unlock()
	var cpus []int64
	for _, a := range applied {
		cpus = append(cpus, a[0].CPU)
	}
	if len(cpus) != 3 || cpus[0] != 100 || cpus[1] != 2000 || cpus[2] != 100 {
		t.Fatalf("cpu limits applied %v: want the plan's 100, lifted into the node's room (2000), and 100 again", cpus)
	}
	q := f.lastBids()[0].Resources["cpu"]
	if q.P90 < 1500 || q.P99 > 1650 {
		t.Fatalf("cpu bid %+v: want p90 ≥ the 1500m it used when lifted, p99 within 10%% of it", q)
	}
}

func TestAutomaticBoosts(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer slow.Close()
	f := newFakeAPI()
	probed := svc("checkout", "a")
	probed.Def.SLA = &bidding.SLASpec{Probe: slow.URL, LatencyP99Above: "100ms"}
	hot := svc("batch", "b")
	hot.Def.Class = bidding.ClassCritical // a batch service's throttling is no reason to boost it
	rt := newFakeRuntime(probed, hot)
	m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(50), "b": throttled(250, 250, 1500, 0.9)}}
	start(t, f, rt, m, "")
	f.plans <- plan(1, 10, alloc("checkout", "n1", 500), alloc("batch", "n1", 250))
	waitfor.True(t, "checkout boosted by its probe", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.boosts["checkout"]) == 1
	})
	f.mu.Lock()
	if len(f.boosts["batch"]) != 0 {
		t.Fatalf("boosts %+v: throttled for one epoch is what the pressed bid answers, not a boost", f.boosts)
	}
	f.mu.Unlock()
	time.Sleep(500 * time.Millisecond) // the probe of epoch 1 finishes
	f.plans <- plan(2, 15, alloc("checkout", "n1", 500), alloc("batch", "n1", 250))
	waitfor.True(t, "both boosted", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.boosts["checkout"]) == 1 && len(f.boosts["batch"]) == 1
	})
	f.mu.Lock()
	c, b := f.boosts["checkout"][0], f.boosts["batch"][0]
	f.mu.Unlock()
	if !strings.HasPrefix(c.Reason, "sla: ") || c.Factor != bidding.DefaultSLABoostFactor || c.TTL != "3s" {
		t.Fatalf("checkout boost %+v: want an sla reason, the default factor, 3 epochs of 1 s", c)
	}
	if !strings.Contains(b.Reason, "kernel: throttled hard") {
		t.Fatalf("batch boost %+v: want the kernel's reason", b)
	}
	// One per service per cooldown: the next epoch adds none.
	time.Sleep(500 * time.Millisecond) // the probe of epoch 2 finishes
	f.plans <- plan(3, 20, alloc("checkout", "n1", 500), alloc("batch", "n1", 250))
	waitfor.True(t, "next bids", 5*time.Second, func() bool { b := f.lastBids(); return len(b) > 0 && b[0].Epoch == 4 })
	time.Sleep(500 * time.Millisecond) // the probe of epoch 3 finishes
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.boosts["checkout"]) != 1 || len(f.boosts["batch"]) != 1 {
		t.Fatalf("boosts %+v: want one each within the cooldown", f.boosts)
	}
}

// With no room on the node there is no probe, and the upper bound is never
// more than the node has.
func TestPressedDemandIsCappedAtTheNode(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	u := throttled(1900, 1900, 0, 0.9)
	u.Waiting, u.HaveWaiting = 3000, true
	start(t, f, rt, &fakeMeasure{use: map[string]usage.Usage{"a": u}}, "")
	p := plan(1, 10, alloc("web", "n1", 1900))
	p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{1950, 0, 0, 0}}}
	f.plans <- p
	waitfor.True(t, "a bid", 5*time.Second, func() bool { return f.lastBids() != nil })
	if q := f.lastBids()[0].Resources["cpu"]; q.P90 != 1950 || q.P99 > 2050 {
		t.Fatalf("cpu bid %+v: want the demand capped at the node's 1950m", q)
	}
	if rt.appliedCount() != 1 {
		t.Fatalf("%d applies: want no probe without room", rt.appliedCount())
	}
}

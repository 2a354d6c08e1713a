package client

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/workload"
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
	// then, the room lent until the next plan: the 1500m it used, 15% above
	lent := 100 + lendOf(1500, 100, 0, 2000-100)
	if len(cpus) != 4 || cpus[0] != 100 || cpus[1] != 2000 || cpus[2] != 100 || cpus[3] != lent {
		t.Fatalf("cpu limits applied %v: want the plan's 100, lifted into the node's room (2000), 100 again, and lent %d", cpus, lent)
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

// With no room on the node there is no probe: a first epoch held back on
// cpu is not floored (the top of the service's own distribution, as often
// as not), a second in a row is, at the upper bound, never more than the
// node has.
func TestPressedDemandIsCappedAtTheNode(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	u := throttled(1900, 1900, 0, 0.9)
	u.Waiting, u.HaveWaiting = 3000, true
	start(t, f, rt, &fakeMeasure{use: map[string]usage.Usage{"a": u}}, "")
	nodes := []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{1950, 0, 0, 0}}}
	p := plan(1, 10, alloc("web", "n1", 1900))
	p.Nodes = nodes
	if q := pushEpoch(t, f, p).Resources["cpu"]; q.P90 != 1900 {
		t.Fatalf("cpu bid %+v after one epoch at the quota: want the forecast of its usage (1900m), not the bound", q)
	}
	p = plan(2, 11, alloc("web", "n1", 1900))
	p.Nodes = nodes
	if q := pushEpoch(t, f, p).Resources["cpu"]; q.P90 != 1950 || q.P99 > 2050 {
		t.Fatalf("cpu bid %+v after a second epoch running: want the demand capped at the node's 1950m", q)
	}
	p = plan(4, 12, alloc("web", "n1", 1900)) // plan 3 missed: not a run
	p.Nodes = nodes
	if q := pushEpoch(t, f, p).Resources["cpu"]; q.P90 >= 1950 {
		t.Fatalf("cpu bid %+v after a missed plan: want no floor (two epochs in a row are a run, not two apart)", q)
	}
	if rt.appliedCount() != 3 {
		t.Fatalf("%d applies: want one per plan, no probe without room", rt.appliedCount())
	}
}

func use(r bidding.Resource, v float64) usage.Usage {
	var u usage.Usage
	u.Value[r], u.Have[r] = v, true
	return u
}

// pushEpoch commits plan p and waits for the bids it brings (for p.Epoch+1).
func pushEpoch(t *testing.T, f *fakeAPI, p bidding.Plan) bidding.Bid {
	t.Helper()
	f.plans <- p
	waitfor.True(t, "the bids of the plan", 5*time.Second, func() bool {
		b := f.lastBids()
		return len(b) > 0 && b[0].Epoch == p.Epoch+1
	})
	return f.lastBids()[0]
}

// io and net are capped silently (io.max, tc): a service that used ≥ 95% of
// the limit in force is lifted into the node's room (≥ 2% of its capacity
// per service), measured, and put back; it bids what it used there, or, held
// at the lifted limit too, is floored at it.
func TestIONetAtLimitIsProbed(t *testing.T) {
	const limit, used = 100e6, 99e6 // bytes/s or bits/s
	for _, tc := range []struct {
		name     string
		r        bidding.Resource
		limit    int64 // in force, and in the plan
		capacity int64
		max      int64
		used     float64
		probe    float64 // what it uses under a lifted limit
		lifted   int64   // the limit the probe applies (0: no probe)
		p90, p99 int64   // the bid's p90, and p99 at most
		// exact: bid at what it used lifted (p50 = p90); floored: only
		// floored at it (p50 is the forecast's, below)
		exact, floored bool
	}{
		{name: "io at its limit with room: bids what it used lifted", r: bidding.IO, limit: limit, capacity: 1e9, used: used,
			probe: 400e6, lifted: 1e9, p90: 400e6, p99: 408e6, exact: true},
		{name: "net at its limit with room: bids what it used lifted", r: bidding.Net, limit: limit, capacity: 1e9, used: used,
			probe: 400e6, lifted: 1e9, p90: 400e6, p99: 408e6, exact: true},
		{name: "io lifted only to its max", r: bidding.IO, limit: limit, capacity: 1e9, max: 500e6, used: used,
			probe: 300e6, lifted: 500e6, p90: 300e6, p99: 306e6, exact: true},
		{name: "net held at the lifted limit too: the bid floored at it", r: bidding.Net, limit: limit, capacity: 1e9, used: used,
			probe: 990e6, lifted: 1e9, p90: 990e6, p99: 990e6, floored: true},
		{name: "io at its limit without room: no probe, the usage's forecast", r: bidding.IO, limit: limit, capacity: 101e6, used: used,
			probe: 400e6, p90: used, p99: used},
		{name: "io under its limit: no probe", r: bidding.IO, limit: limit, capacity: 1e9, used: 90e6,
			probe: 400e6, p90: 90e6, p99: 90e6},
		{name: "no io limit in force: no probe", r: bidding.IO, capacity: 1e9, used: used,
			probe: 400e6, p90: used, p99: used},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI()
			s := svc("db", "a")
			s.Def.Max[tc.r] = tc.max
			rt := newFakeRuntime(s)
			start(t, f, rt, &fakeMeasure{use: map[string]usage.Usage{"a": use(tc.r, tc.used)},
				probe: map[string]usage.Usage{"a": use(tc.r, tc.probe)}}, "")
			a := alloc("db", "n1", 500)
			a.Set(tc.r, tc.limit)
			var capacity bidding.Vec
			capacity[bidding.CPU], capacity[tc.r] = 2000, tc.capacity
			p := plan(1, 10, a)
			p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: capacity}}
			pushEpoch(t, f, p) // no limit was in force before this plan: no probe
			p.Epoch, p.Index = 2, 11
			q := pushEpoch(t, f, p).Resources[tc.r.String()]

			limits := limitsApplied(rt, func(a bidding.Allocation) int64 { return a.Get(tc.r) })
			want := []int64{tc.limit, tc.limit}
			if tc.lifted > 0 {
				want = append(want, tc.lifted, tc.limit, tc.limit+lendOf(tc.probe, tc.limit, tc.max, tc.capacity-tc.limit))
			}
			if !slices.Equal(limits, want) {
				t.Fatalf("%s limits applied %v: want %v (the plan's, for each plan, a probe's lift and restore, and the room lent)", tc.r, limits, want)
			}
			if q.P90 != tc.p90 || q.P99 > tc.p99 || tc.exact && q.P50 != q.P90 || tc.floored && q.P50 >= q.P90 {
				t.Fatalf("%s bid %+v: want p90 %d, p99 at most %d, p50 at p90 %v, below it %v", tc.r, q, tc.p90, tc.p99, tc.exact, tc.floored)
			}
		})
	}
}

// replaying is a runtime whose usage is replayed (as the demo's).
type replaying struct {
	*fakeRuntime
	u usage.Usage
}

func (r replaying) History(string) map[bidding.Resource][]float64 { return nil }
func (r replaying) Replay(string, int) usage.Usage                { return r.u }
func (r replaying) Step() time.Duration                           { return time.Second }

// A replayed usage above its allocation was held by no limit: no probe
// (at its limit), no lend (far above it, as a burst).
func TestReplayedIsNotProbedNorLent(t *testing.T) {
	for _, used := range []float64{120e6, 400e6} {
		f := newFakeAPI()
		rt := replaying{newFakeRuntime(svc("db")), use(bidding.IO, used)}
		_, stop := run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: &fakeMeasure{}})
		a := alloc("db", "n1", 500)
		a.IO = 100e6
		p := plan(1, 10, a)
		p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{2000, 0, 1e9, 0}}}
		pushEpoch(t, f, p)
		p.Epoch, p.Index = 2, 11
		pushEpoch(t, f, p)
		stop()
		if n := rt.appliedCount(); n != 2 {
			t.Fatalf("replayed io %v under a 100e6 limit: %d applies, want the two plans' and no probe or lend", used, n)
		}
	}
}

// A service throttled at its cpu quota and at its net limit gets both lifted
// in one apply, measured in one window, and both put back.
func TestCPUAndNetProbedInOneApply(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	u, lifted := throttled(100, 100, 1800, 0.95), cpuUsage(1500)
	u.Value[bidding.Net], u.Have[bidding.Net] = 99e6, true
	lifted.Value[bidding.Net], lifted.Have[bidding.Net] = 400e6, true
	// The probes alone: a lend would raise the limit in force, which the
	// fake's fixed usage would then no longer reach.
	run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, NoLend: true,
		Measure: &fakeMeasure{use: map[string]usage.Usage{"a": u}, probe: map[string]usage.Usage{"a": lifted}}})
	a := alloc("web", "n1", 100)
	a.Net = 100e6
	p := plan(1, 10, a)
	p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{2000, 0, 0, 1e9}}}
	pushEpoch(t, f, p) // cpu only: its quota shows it was throttled; no net limit was in force
	p.Epoch, p.Index = 2, 11
	b := pushEpoch(t, f, p)
	type lim struct{ cpu, net int64 }
	got := limitsApplied(rt, func(a bidding.Allocation) lim { return lim{a.CPU, a.Net} })
	want := []lim{{100, 100e6}, {2000, 100e6}, {100, 100e6}, {100, 100e6}, {2000, 1e9}, {100, 100e6}}
	if !slices.Equal(got, want) {
		t.Fatalf("limits applied %v: want %v (plan 1 with cpu lifted alone, plan 2 with cpu and net lifted at once)", got, want)
	}
	if q := b.Resources["cpu"]; q.P90 != 1500 {
		t.Fatalf("cpu bid %+v: want p90 at the 1500m it used lifted", q)
	}
	if q := b.Resources["net"]; q.P50 != 400e6 || q.P90 != 400e6 {
		t.Fatalf("net bid %+v: want p50 and p90 at the 400 Mbit/s it used lifted", q)
	}
}

// A service at its io limit has its cpu quota lifted with its io: more io
// needs more cpu, and a quota left in place would cap what the io probe
// reads. Its cpu reading there is bid as a probed demand when it used ≥ 80%
// of its quota over the interval, or when the reading reaches 80% of the
// quota the probe lifted (the live net case: no quota before the plan that
// set one, and 1.3–3× more cpu at the probed rate); one far below both keeps
// its forecast.
func TestIOProbeLiftsTheCPUQuota(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cpuUsed  float64
		cpuLimit int64 // the kernel's over the interval (0: none)
		cpuProbe float64
		kept     bool
	}{
		{"near its quota: the reading is bid", 90, 100, 300, true},
		{"no quota before, the plan's would hold it: the reading is bid", 20, 0, 300, true},
		{"far below its quota at both rates: the forecast stands", 20, 100, 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI()
			rt := newFakeRuntime(svc("db", "a"))
			u := use(bidding.IO, 99e6)
			u.Value[bidding.CPU], u.Have[bidding.CPU], u.CPULimit = tc.cpuUsed, true, tc.cpuLimit
			pu := use(bidding.IO, 400e6)
			pu.Value[bidding.CPU], pu.Have[bidding.CPU] = tc.cpuProbe, true
			run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, NoLend: true, // the probe alone
				Measure: &fakeMeasure{use: map[string]usage.Usage{"a": u}, probe: map[string]usage.Usage{"a": pu}}})
			a := alloc("db", "n1", 100)
			a.IO = 100e6
			p := plan(1, 10, a)
			p.Nodes = []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{2000, 0, 1e9, 0}}}
			pushEpoch(t, f, p) // no io limit was in force before this plan: no probe
			p.Epoch, p.Index = 2, 11
			b := pushEpoch(t, f, p)
			type lim struct{ cpu, io int64 }
			got := limitsApplied(rt, func(a bidding.Allocation) lim { return lim{a.CPU, a.IO} })
			want := []lim{{100, 100e6}, {100, 100e6}, {2000, 1e9}, {100, 100e6}}
			if !slices.Equal(got, want) {
				t.Fatalf("limits applied %v: want %v", got, want)
			}
			if q := b.Resources["io"]; q.P90 != 400e6 || q.P50 != q.P90 {
				t.Fatalf("io bid %+v: want p50 = p90 at the 400 MB/s it used lifted", q)
			}
			q := b.Resources["cpu"]
			if exact := q.P50 == int64(tc.cpuProbe) && q.P90 == int64(tc.cpuProbe); exact != tc.kept {
				t.Fatalf("cpu bid %+v: p50 = p90 at the %gm it used with io lifted is %v, want %v", q, tc.cpuProbe, exact, tc.kept)
			}
		})
	}
}

// io reads at its limit from 95% of it; net from 95% of what tx_bytes reads
// of a tc rate (netCounted: tc charges GSO segments' headers, the counter
// once), so a service held at 10 Mbit/s reading 9.48 is at its limit.
func TestAtLimit(t *testing.T) {
	for _, c := range []struct {
		r     bidding.Resource
		use   float64
		limit int64
		want  bool
	}{
		{bidding.IO, 9.5e6, 10e6, true},
		{bidding.IO, 9.4e6, 10e6, false},
		{bidding.Net, 9.48e6, 10e6, true},
		{bidding.Net, 9.1e6, 10e6, false},
		{bidding.Net, 9.48e6, 0, false}, // no limit
	} {
		if got := atLimit(c.r, c.use, c.limit); got != c.want {
			t.Errorf("atLimit(%s, %v, %d) = %v, want %v", c.r, c.use, c.limit, got, c.want)
		}
	}
}

// TestBorrowedMemoryKillIsMeasuredAgainstTheReservation: borrowing, the
// cgroup's memory limit is the node's; a service the kernel OOM-killed for
// being furthest above its reservation on a full node bids 25% above the
// larger of its usage and its reservation, not above the node.
func TestBorrowedMemoryKillIsMeasuredAgainstTheReservation(t *testing.T) {
	for _, borrow := range []bool{true, false} {
		t.Run(map[bool]string{true: "borrowing", false: "hard limits"}[borrow], func(t *testing.T) {
			f := newFakeAPI()
			rt := newFakeRuntime(svc("web", "a"))
			u := use(bidding.Memory, 300<<20)
			u.MemoryLimit, u.OOMKills, u.HaveOOMKills = 4<<30, 1, true
			run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: &fakeMeasure{use: map[string]usage.Usage{"a": u}}, Borrow: borrow})
			nodes := []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000, 4 << 30, 0, 0}}}
			a := bidding.Allocation{Service: "web", Node: "n1", CPU: 500, Memory: 256 << 20}
			var q bidding.Quantiles
			for e := uint64(1); e <= 2; e++ { // the second epoch's measure ran under the first plan
				p := plan(e, 9+e, a)
				p.Nodes = nodes
				q = pushEpoch(t, f, p).Resources["memory"]
			}
			want := int64(1.25 * (300 << 20))
			if !borrow {
				want = 4 << 30 // 25% above the (node-sized) limit, capped at the node
			}
			if q.P90 < want || q.P90 > want+want/10 {
				t.Fatalf("memory bid %+v after an OOM kill: want p90 near %d", q, want)
			}
		})
	}
}

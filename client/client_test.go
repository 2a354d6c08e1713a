package client

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/usage"
)

func alloc(service, node string, cpu int64) bidding.Allocation {
	return bidding.Allocation{Service: service, Node: node, CPU: cpu}
}

// start runs a client for node n1 until the test ends.
func start(t *testing.T, f *fakeAPI, rt *fakeRuntime, m *fakeMeasure, dataDir string) *Client {
	t.Helper()
	c, _ := run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: m, DataDir: dataDir})
	return c
}

// run starts a client with cfg; stop ends it and waits (also at cleanup).
func run(t *testing.T, cfg Config) (c *Client, stop func()) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return c, stop
}

func TestOneLoopEnforcesMeasuresBidsAndReports(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "docker/a", "docker/b"))
	m := &fakeMeasure{use: map[string]usage.Usage{"docker/a": cpuUsage(300), "docker/b": cpuUsage(200)}}
	start(t, f, rt, m, "")
	waitfor.True(t, "web registered", 5*time.Second, func() bool { return f.registered("web") })
	for e := uint64(1); e <= 4; e++ {
		f.plans <- plan(e, 10*e, alloc("web", "n1", 500), alloc("web", "other", 900))
		waitfor.True(t, "bids for the epoch after the plan", 5*time.Second, func() bool {
			b := f.lastBids()
			return len(b) == 1 && b[0].Epoch == e+1
		})
	}
	got := rt.lastApplied()
	if len(got) != 1 || got[0].Node != "n1" || got[0].CPU != 500 {
		t.Fatalf("applied %+v: want only this node's slice", got)
	}
	b := f.lastBids()[0]
	cpu := b.Resources["cpu"]
	if b.Service != "web" || b.Node != "n1" || cpu.P50 < 450 || cpu.P50 > 550 {
		t.Fatalf("bid %+v: want web on n1 with cpu p50 near the 500m its two replicas use", b)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reports) == 0 || f.reports[len(f.reports)-1].Epoch != 3 {
		t.Fatalf("usage reports %+v: the last should be epoch 3 (measured when plan 4 came)", f.reports)
	}
	if a := f.reports[len(f.reports)-1].Services[0].Actual["cpu"]; a != 500 {
		t.Fatalf("reported cpu %d, want the 500 summed over replicas", a)
	}
}

func TestPlansNotNewerAreDropped(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	start(t, f, rt, &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100)}}, "")
	f.plans <- plan(2, 20, alloc("web", "n1", 700))
	waitfor.True(t, "plan 2 applied", 5*time.Second, func() bool { return rt.appliedCount() == 1 })
	f.plans <- plan(1, 10, alloc("web", "n1", 100)) // an older answer (another server, behind)
	f.plans <- plan(2, 20, alloc("web", "n1", 100)) // the same index again
	f.plans <- plan(3, 30, alloc("web", "n1", 300))
	waitfor.True(t, "plan 3 applied", 5*time.Second, func() bool { return rt.appliedCount() == 2 })
	if got := rt.lastApplied(); got[0].CPU != 300 {
		t.Fatalf("applied %+v", got)
	}
}

func TestFailStaticKeepsAndRestoresThePlan(t *testing.T) {
	dir := t.TempDir()
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100)}}
	func() {
		_, stop := run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: m, DataDir: dir})
		f.plans <- plan(5, 50, alloc("web", "n1", 800))
		waitfor.True(t, "plan applied", 5*time.Second, func() bool { return rt.appliedCount() == 1 })
		stop()
	}()
	// A restart with no server answering: the persisted plan is applied again and stays.
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	rt2 := newFakeRuntime(svc("web", "a"))
	c := start(t, f, rt2, m, dir)
	waitfor.True(t, "persisted plan re-applied", 5*time.Second, func() bool { return rt2.appliedCount() == 1 })
	waitfor.True(t, "plan watch retried", 5*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.watchErrs >= 2 })
	if p := c.Current(); p == nil || p.Index != 50 || rt2.lastApplied()[0].CPU != 800 {
		t.Fatalf("plan in force %+v, applied %+v: want the persisted one", p, rt2.lastApplied())
	}
}

func TestFailedEnforcementIsRetried(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	rt.failing = 1
	start(t, f, rt, &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100)}}, "")
	f.plans <- plan(1, 10, alloc("web", "n1", 400))
	waitfor.True(t, "plan applied after a refused update", 10*time.Second, func() bool { return rt.appliedCount() == 1 })
	waitfor.True(t, "bid sent although enforcement failed once", 5*time.Second, func() bool { return f.lastBids() != nil })
}

func TestWorkloadChangesAreManagedWithinTheEpoch(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100), "b": cpuUsage(100), "c": cpuUsage(50)}}
	c := start(t, f, rt, m, "")
	f.plans <- plan(1, 10, alloc("web", "n1", 400))
	waitfor.True(t, "plan applied", 5*time.Second, func() bool { return rt.appliedCount() == 1 })

	// A replica of web and a new service start: the plan in force is
	// re-applied at once (the new replica gets its share) and the new
	// service is registered, without waiting for the next plan.
	rt.set(svc("web", "a", "b"), svc("api", "c"))
	waitfor.True(t, "plan re-applied to the new replica", 5*time.Second, func() bool { return rt.appliedCount() == 2 })
	waitfor.True(t, "api registered", 5*time.Second, func() bool { return f.registered("api") })
	f.plans <- plan(2, 20, alloc("web", "n1", 400))
	waitfor.True(t, "bids for web and api", 5*time.Second, func() bool {
		b := f.lastBids()
		return len(b) == 2 && b[0].Service == "api" && b[1].Service == "web" && b[0].Epoch == 3
	})

	// web's containers stop: it drops out of the next bids.
	rt.set(svc("api", "c"))
	waitfor.True(t, "web forgotten", 5*time.Second, func() bool { return len(c.snapshot()) == 1 })
	f.plans <- plan(3, 30)
	waitfor.True(t, "only api bid for", 5*time.Second, func() bool {
		b := f.lastBids()
		return len(b) == 1 && b[0].Service == "api" && b[0].Epoch == 4
	})
}

// recordDriver is a fallback enforcement driver that records what it got.
type recordDriver struct {
	mu  sync.Mutex
	got []string
}

func (d *recordDriver) Name() string { return "record" }

func (d *recordDriver) Apply(_ context.Context, allocs []bidding.Allocation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range allocs {
		d.got = append(d.got, a.Service)
	}
	return nil
}

// A service whose containers stopped keeps its allocation in plans until
// its bid expires; that allocation must not reach the fallback driver,
// which would create a cgroup for it. Services no runtime ever had (defined
// only in the registry) still do.
func TestGoneServicesDoNotReachTheFallback(t *testing.T) {
	f := newFakeAPI()
	rt := newFakeRuntime(svc("web", "a"))
	fb := &recordDriver{}
	c, _ := run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Fallback: fb,
		Measure: &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(100)}}})
	f.plans <- plan(1, 10, alloc("web", "n1", 400), alloc("legacy", "n1", 100))
	waitfor.True(t, "plan 1 applied", 5*time.Second, func() bool { return rt.appliedCount() == 1 })
	rt.set()
	waitfor.True(t, "web forgotten", 5*time.Second, func() bool { return len(c.snapshot()) == 0 })
	f.plans <- plan(2, 20, alloc("web", "n1", 400), alloc("legacy", "n1", 100))
	waitfor.True(t, "plan 2 enforced", 5*time.Second, func() bool { p := c.Current(); return p != nil && p.Index == 20 })
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if slices.Contains(fb.got, "web") || !slices.Contains(fb.got, "legacy") {
		t.Fatalf("fallback got %v: want legacy (no runtime has it), never web (its containers stopped)", fb.got)
	}
}

package client

import (
	"testing"
	"time"

	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/usage"
)

// TestUnchangedSlicesStillMarkEpochs: the client watches its node's slice;
// a plan that leaves the slice unchanged comes as a stub, and the loop
// still measures and bids once per plan, with the slice it holds kept in
// force under the new plan's index, also across a restart.
func TestUnchangedSlicesStillMarkEpochs(t *testing.T) {
	dir := t.TempDir()
	f := newFakeAPI()
	m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(300)}}
	bidFor := func(e uint64) {
		t.Helper()
		waitfor.True(t, "bids for the epoch after the plan", 5*time.Second, func() bool {
			b := f.lastBids()
			return len(b) == 1 && b[0].Epoch == e+1
		})
	}
	stubs := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.stubs }

	rt := newFakeRuntime(svc("web", "a"))
	c, stop := run(t, Config{Node: "n1", API: f, Runtimes: []workload.Runtime{rt}, Measure: m, DataDir: dir})
	steps := []struct {
		epoch, index uint64
		n1, other    int64 // cpu of web on n1 and on another node
		stub         bool  // n1's slice unchanged: answered as a stub
	}{
		{1, 10, 500, 900, false},
		{2, 20, 500, 100, true}, // only another node's allocation changed
		{3, 30, 600, 100, false},
		{4, 40, 600, 100, true},
	}
	for _, s := range steps {
		before := stubs()
		f.plans <- plan(s.epoch, s.index, alloc("web", "n1", s.n1), alloc("web", "other", s.other))
		bidFor(s.epoch)
		if got := stubs() - before; got != map[bool]int{true: 1, false: 0}[s.stub] {
			t.Fatalf("epoch %d: %d stubs, want stub=%v", s.epoch, got, s.stub)
		}
		p := c.Current()
		if p == nil || p.Epoch != s.epoch || p.Index != s.index || len(p.Allocations) != 1 || p.Allocations[0].CPU != s.n1 || p.Unchanged {
			t.Fatalf("epoch %d: plan in force %+v", s.epoch, p)
		}
		if got := rt.lastApplied(); len(got) != 1 || got[0].Node != "n1" || got[0].CPU != s.n1 {
			t.Fatalf("epoch %d: applied %+v", s.epoch, got)
		}
	}
	stop()

	// After a restart the persisted slice is what a stub completes.
	rt2 := newFakeRuntime(svc("web", "a"))
	c2 := start(t, f, rt2, m, dir)
	waitfor.True(t, "persisted plan re-applied", 5*time.Second, func() bool { return rt2.appliedCount() == 1 })
	before := stubs()
	f.plans <- plan(5, 50, alloc("web", "n1", 600))
	bidFor(5)
	if p := c2.Current(); stubs() != before+1 || p.Index != 50 || p.Epoch != 5 || len(p.Allocations) != 1 || p.Allocations[0].CPU != 600 {
		t.Fatalf("after restart: %d stubs (before %d), plan in force %+v", stubs(), before, p)
	}
}

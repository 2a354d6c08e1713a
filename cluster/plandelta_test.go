package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/hashicorp/raft"
)

// TestCommitPlanDeltaOrWhole: the leader commits a plan whole when it has
// no base, as a delta against the latest plan when it has one, and whole
// again when the FSM refuses the delta (here a base that is not the latest
// plan); every time the stored plan is the one solved.
func TestCommitPlanDeltaOrWhole(t *testing.T) {
	_, trans := raft.NewInmemTransport("s1")
	s, err := New(Config{ID: "s1", Name: "n1", BootstrapExpect: 1, Heartbeat: 50 * time.Millisecond, Election: 50 * time.Millisecond,
		Epoch: time.Hour, BidTTL: 3, PlanHistory: 10, Options: bidding.DefaultOptions(), Transport: trans})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	s.bootstrap([]raft.Server{{ID: "s1", Address: "s1"}})
	waitfor.True(t, "leadership", 5*time.Second, s.IsLeader)

	plan := func(e uint64, cpu int64) *bidding.Plan {
		return &bidding.Plan{Epoch: e, Hash: "sha256:" + string(rune('a'+e)), Created: time.Date(2026, 12, 7, 0, 0, int(e), 0, time.UTC),
			Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: cpu}, {Service: "db", Node: "n1", CPU: 7}},
			Nodes:       []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000}}}}
	}
	latest := func() *bidding.Plan {
		p, ok := s.FSM().LatestPlan()
		if !ok {
			return nil
		}
		return &p
	}
	cases := []struct {
		name      string
		plan      *bidding.Plan
		base      func() *bidding.Plan
		wantDelta bool
	}{
		{"first plan: whole", plan(1, 100), func() *bidding.Plan { return nil }, false},
		{"against the latest: delta", plan(2, 200), latest, true},
		{"stale base: refused, then whole", plan(3, 300), func() *bidding.Plan {
			b := latest()
			b.Hash = "sha256:other"
			return b
		}, false},
	}
	for _, tc := range cases {
		idx, delta, err := s.commitPlan(context.Background(), tc.plan, tc.base())
		if err != nil || delta != tc.wantDelta {
			t.Fatalf("%s: index %d, delta %v, error %v", tc.name, idx, delta, err)
		}
		got := latest()
		if got == nil || got.Epoch != tc.plan.Epoch || got.Index != idx || len(got.Allocations) != 2 || got.Allocations[0].CPU != tc.plan.Allocations[0].CPU {
			t.Fatalf("%s: stored %+v", tc.name, got)
		}
	}
}

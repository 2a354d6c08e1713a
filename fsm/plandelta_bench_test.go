package fsm

import (
	"fmt"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// planPair is a plan of nodes × perNode placements (names as `allot bench
// cluster` draws them) with one shadow price per node and resource, and
// the plan after it, where every fourth allocation's cpu and memory moved.
func planPair(nodes, perNode int) (base, next bidding.Plan) {
	base = bidding.Plan{Epoch: 41, Index: 9000, InputIndex: 8990, Hash: "sha256:41"}
	for n := range nodes {
		node := fmt.Sprintf("node-%04d", n)
		base.Nodes = append(base.Nodes, bidding.NodePlan{Node: node, Capacity: bidding.Vec{64000, 256 << 30, 1 << 30, 10 << 30},
			ShadowPrice: map[string]float64{"cpu": 0.001 * float64(n%7), "memory": 0, "io": 0, "net": 0}})
		for s := range perNode {
			base.Allocations = append(base.Allocations, bidding.Allocation{Service: fmt.Sprintf("svc-%05d", (n*perNode+s)%(nodes*perNode/10)),
				Node: node, CPU: int64(100 + s*7), Memory: int64(s+1) << 24, IO: 1 << 20, Net: 1 << 22})
		}
	}
	next = base
	next.Epoch, next.Index, next.Hash = 42, 0, "sha256:42"
	next.Allocations = append([]bidding.Allocation(nil), base.Allocations...)
	for i := 0; i < len(next.Allocations); i += 4 {
		next.Allocations[i].CPU += 13
		next.Allocations[i].Memory -= 1 << 20
	}
	return base, next
}

// BenchmarkPlanDeltaEntry compares a 100k-placement plan's commit-plan
// entry with its commit-plan-delta against the plan before: bytes, the
// leader's encoding, and what every replica does before storing it
// (decode, and rebuild against the base):
//
//	go test ./fsm -run '^$' -bench PlanDeltaEntry -benchmem -benchtime 5x
func BenchmarkPlanDeltaEntry(b *testing.B) {
	base, next := planPair(1000, 100)
	st := &state{Plans: map[uint64]bidding.Plan{base.Epoch: base}, PlanIdx: base.Index}
	whole, err := Encode(CmdCommitPlan, CommitPlan{Plan: next})
	if err != nil {
		b.Fatal(err)
	}
	delta, err := Encode(CmdCommitPlanDelta, NewCommitPlanDelta(&next, &base))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("whole/encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(CmdCommitPlan, CommitPlan{Plan: next}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(whole)), "entry-bytes")
	})
	b.Run("delta/encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(CmdCommitPlanDelta, NewCommitPlanDelta(&next, &base)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(delta)), "entry-bytes")
	})
	b.Run("whole/decode", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Decode(whole); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delta/decode+rebuild", func(b *testing.B) {
		for b.Loop() {
			_, v, err := Decode(delta)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := v.(*CommitPlanDelta).rebuild(st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

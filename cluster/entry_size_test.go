package cluster

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidding/bench"
	"github.com/allot-dev/allot/fsm"
)

// BenchmarkPlanEntry measures the Raft entry of a plan with about 10k
// placements with and without explanations (CloseEpoch now commits the
// latter), and how long encoding each takes:
//
//	go test ./cluster -run '^$' -bench PlanEntry -benchtime 5x
func BenchmarkPlanEntry(b *testing.B) {
	p, err := bench.Instance(10000, 1000, 1)
	if err != nil {
		b.Fatal(err)
	}
	var solver bidding.Solver
	plan, err := solver.Solve(p)
	if err != nil {
		b.Fatal(err)
	}
	lean := *plan
	lean.Explain = nil
	for _, c := range []struct {
		name string
		plan bidding.Plan
	}{{"with-explanations", *plan}, {"without", lean}} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				data, err := fsm.Encode(fsm.CmdCommitPlan, fsm.CommitPlan{Plan: c.plan})
				if err != nil {
					b.Fatal(err)
				}
				n = len(data)
			}
			b.ReportMetric(float64(n), "entry-bytes")
			b.ReportMetric(float64(len(c.plan.Allocations)), "placements")
		})
	}
}

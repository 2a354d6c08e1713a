package fsm

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// historyPlan is epoch e's plan of nodes × services placements, shaped
// like `allot bench cluster`'s: a quarter of the placements change their
// cpu each epoch (staggered by node), memory stays, every node has a
// capacity and two shadow prices.
func historyPlan(e uint64, nodes, services int) bidding.Plan {
	p := bidding.Plan{Epoch: e, InputIndex: e*40 - 1, Created: time.Date(2026, 12, 1, 0, 0, int(e), 0, time.UTC),
		Hash: fmt.Sprintf("sha256:%064d", e), Stats: bidding.Stats{SolveMS: 17, Bids: nodes * services, Services: services, Iterations: 40}}
	for i := range nodes {
		node := fmt.Sprintf("node-%05d", i)
		p.Nodes = append(p.Nodes, bidding.NodePlan{Node: node, Capacity: bidding.Vec{16000, 64 << 30},
			ShadowPrice: map[string]float64{"cpu": 0.125 * float64(e%3), "memory": 1e-9}})
		step := (e + uint64(i)) / 4
		for j := range services {
			cpu := int64(200 + (uint64(i*31+j*17)+step*7)%50*20)
			p.Allocations = append(p.Allocations, bidding.Allocation{Service: fmt.Sprintf("svc-%05d", (i*services+j)%(nodes*services/10+1)),
				Node: node, CPU: cpu, Memory: 256 << 20})
		}
	}
	return p
}

// BenchmarkKeptHistory commits 288 plans of 1000 nodes × 10 services
// through Apply with plan_history 288, in both history formats of this
// build, and reports what the kept plans cost: the snapshot's bytes, the
// live heap the FSM holds after a collection, the byte bound's count, and
// the epochs kept (sizes, not times: BenchmarkCommitPlan times Apply).
// Format 0 is the previous build's way (every kept plan
// whole), bounded by the default plan_history_bytes (64 MiB) and unbounded;
// format 1 is the compact history. Run with -benchtime 1x:
//
//	go test ./fsm -run '^$' -bench KeptHistory -benchtime 1x
func BenchmarkKeptHistory(b *testing.B) {
	const nodes, services, plans = 1000, 10, 288
	cases := []struct {
		name   string
		format int
		bytes  int64
	}{
		{"full-64MiB", PlanHistoryFull, DefaultPlanHistoryBytes},
		{"full-unbounded", PlanHistoryFull, 0},
		{"compact-64MiB", PlanHistoryCompact, DefaultPlanHistoryBytes},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				f := New()
				st := DefaultSettings()
				st.PlanHistory, st.PlanHistoryFormat, st.PlanHistoryBytes = plans, c.format, c.bytes
				idx := uint64(1)
				if err := f.ApplyCommand(idx, mustEncode(b, CmdSetSettings, SetSettings{Settings: st})); err != nil {
					b.Fatal(err)
				}
				for e := uint64(1); e <= plans; e++ {
					idx++
					data := mustEncode(b, CmdCommitPlan, CommitPlan{Plan: historyPlan(e, nodes, services)})
					if err := f.ApplyCommand(idx, data); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				snap := len(mustPersist(b, f))
				p, ok := f.Plan(f.PlanEpochs()[0]) // the oldest kept, rebuilt if past
				if !ok || len(p.Allocations) != nodes*services {
					b.Fatalf("oldest kept plan: %v, %d allocations", ok, len(p.Allocations))
				}
				b.ReportMetric(float64(snap)/(1<<20), "snapshot-MB")
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MB")
				b.ReportMetric(float64(f.PlanHistoryBytes())/(1<<20), "history-MB")
				b.ReportMetric(float64(len(f.PlanEpochs())), "epochs-kept")
				runtime.KeepAlive(f)
			}
		})
	}
}

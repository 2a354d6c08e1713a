package metrics

import (
	"fmt"
	"testing"
)

// BenchmarkScrapeLargeCluster is one scrape of a server's registry at 1000
// nodes × 10 services (10,000 placements, each with four resources of
// usage and forecast): what a Prometheus scrape costs the server.
func BenchmarkScrapeLargeCluster(b *testing.B) {
	src := &fakeSource{snap: Snapshot{IsLeader: true, HasLeader: true, RaftState: "Leader", Plan: &Plan{Epoch: 1}}}
	for n := range 1000 {
		node := fmt.Sprintf("node-%04d", n)
		src.snap.Plan.Nodes = append(src.snap.Plan.Nodes, NodeState{Node: node, Capacity: Quantity{16000, 64 << 30, 1 << 30, 10e9},
			ShadowPrice: map[string]float64{"cpu": 0.1, "memory": 1e-9, "io": 0, "net": 0}})
		for s := range 10 {
			svc := fmt.Sprintf("svc-%02d", s)
			src.snap.Plan.Allocations = append(src.snap.Plan.Allocations, Placement{Service: svc, Node: node, Granted: Quantity{500, 1 << 30, 1 << 20, 1e6}})
			for _, r := range []string{"cpu", "memory", "io", "net"} {
				src.snap.Usage = append(src.snap.Usage, Usage{Service: svc, Node: node, Resource: r, Actual: 400, P50: i64(400), P90: i64(500), P99: i64(600), Forecasts: 10, CoverageP90: 0.9, CoverageP99: 1})
			}
		}
	}
	r := New()
	if err := r.Register(NewClusterCollector(src)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var series int
	for b.Loop() {
		mfs, err := r.Gatherer().Gather()
		if err != nil {
			b.Fatal(err)
		}
		series = 0
		for _, mf := range mfs {
			series += len(mf.GetMetric())
		}
	}
	b.ReportMetric(float64(series), "series")
}

package api

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// clusterPlan is a plan of nodes × perNode placements (perNode services
// on every node), with realistic quantities and shadow prices.
func clusterPlan(nodes, perNode int) bidding.Plan {
	p := bidding.Plan{Epoch: 4242, Index: 1234567, InputIndex: 1234500, Hash: "sha256:" + fmt.Sprintf("%064x", 42),
		Stats: bidding.Stats{SolveMS: 180.5, Bids: nodes * perNode, Services: perNode * 10, FairnessJain: 0.97, Objective: 12345.678, Iterations: 20000}}
	for s := range perNode * 10 {
		for n := range nodes {
			if (n+s)%10 != 0 { // each node hosts perNode of the services
				continue
			}
			p.Allocations = append(p.Allocations, bidding.Allocation{Service: fmt.Sprintf("service-%03d", s), Node: fmt.Sprintf("node-%04d", n),
				CPU: 1250 + int64(s*n%700), Memory: 2147483648 + int64(n)<<20, IO: 52428800, Net: 500000000})
		}
	}
	for n := range nodes {
		p.Nodes = append(p.Nodes, bidding.NodePlan{Node: fmt.Sprintf("node-%04d", n), Capacity: bidding.Vec{32000, 128 << 30, 1 << 30, 10e9},
			ShadowPrice: map[string]float64{"cpu": 0.0021, "memory": 1.3e-11, "io": 0, "net": 2.5e-12}})
	}
	return p
}

// servedBytes is the size of v as the API writes it.
func servedBytes(v any) int {
	w := httptest.NewRecorder()
	_ = writeJSON(w, 200, v)
	return w.Body.Len()
}

// TestSliceBytesPerEpoch measures what one node's client downloads per
// epoch in a 1000-node plan with 10 services per node: the whole plan (as
// before), its slice when it changed, and the stub when it did not.
func TestSliceBytesPerEpoch(t *testing.T) {
	p := clusterPlan(1000, 10)
	var c sliceCache
	sl := c.slice(&p, "node-0007")
	whole, slice, stub := servedBytes(planView(p)), servedBytes(sl), servedBytes(stubOf(sl))
	t.Logf("1000 nodes × 10 services (%d allocations): whole plan %d B, node slice %d B (changed), stub %d B (unchanged)", len(p.Allocations), whole, slice, stub)
	if len(sl.Allocations) != 10 {
		t.Fatalf("slice has %d allocations, want 10", len(sl.Allocations))
	}
	if slice*100 > whole || stub >= slice {
		t.Fatalf("whole %d B, slice %d B, stub %d B: want slice < 1%% of whole and stub < slice", whole, slice, stub)
	}
	if again := c.slice(&p, "node-0007"); again.NodeHash != sl.NodeHash {
		t.Fatalf("cached slice differs")
	}
}

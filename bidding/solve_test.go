package bidding

import (
	"reflect"
	"strings"
	"testing"
)

// The seed's LP gave every contested unit to the highest bidder. Here the
// lower-weight service must still get its floor (min + fair entitlement).
func TestSeedFailureCaseLowerWeightKeepsFloor(t *testing.T) {
	p := Problem{
		Epoch:    1,
		Nodes:    []Node{cpuNode("n1", 4000)},
		Services: []Service{svc("hi", ClassCritical, 500), svc("lo", ClassBatch, 500)},
		Bids:     []Bid{cpuBid("hi", "n1", q(4000, 5000, 6000)), cpuBid("lo", "n1", q(2000, 3000, 4000))},
	}
	plan, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	hi, lo := allocOf(plan, "hi", "n1"), allocOf(plan, "lo", "n1")
	if hi == nil || lo == nil {
		t.Fatalf("missing allocations: %+v", plan.Allocations)
	}
	// Half of the spare 3000 split 8:1 → lo's entitlement 166 of its 1500 median demand.
	floor := plan.Explain[1].Resources["cpu"].Floor
	if floor < 500+166 || lo.CPU < floor {
		t.Fatalf("lo got %d, floor %d; want ≥ 666", lo.CPU, floor)
	}
	if hi.CPU+lo.CPU != 4000 {
		t.Fatalf("capacity not used: %d + %d", hi.CPU, lo.CPU)
	}
	if hi.CPU <= lo.CPU {
		t.Fatalf("higher weight got less: hi %d lo %d", hi.CPU, lo.CPU)
	}
}

func TestSolveBasics(t *testing.T) {
	tests := []struct {
		name  string
		p     Problem
		check func(t *testing.T, plan *Plan)
	}{
		{
			name: "uncontested gets bid max",
			p: Problem{Nodes: []Node{cpuNode("n1", 10000)}, Services: []Service{svc("a", ClassStandard, 0)},
				Bids: []Bid{cpuBid("a", "n1", q(1000, 2000, 3000))}},
			check: func(t *testing.T, plan *Plan) {
				if a := allocOf(plan, "a", "n1"); a.CPU != 3000 {
					t.Fatalf("cpu %d, want 3000", a.CPU)
				}
			},
		},
		{
			name: "missing resource gets service min",
			p: Problem{Nodes: []Node{{Name: "n1", Capacity: Vec{CPU: 1000, Memory: 1 << 30}}},
				Services: []Service{{Name: "a", Min: Vec{Memory: 1 << 20}}},
				Bids:     []Bid{cpuBid("a", "n1", q(100, 200, 300))}},
			check: func(t *testing.T, plan *Plan) {
				if a := allocOf(plan, "a", "n1"); a.Memory != 1<<20 || a.CPU != 300 {
					t.Fatalf("got %+v", a)
				}
			},
		},
		{
			name: "zero capacity means not allocated",
			p: Problem{Nodes: []Node{{Name: "n1", Capacity: Vec{CPU: 1000}}},
				Services: []Service{{Name: "a", Min: Vec{Memory: 1 << 20}}},
				Bids: []Bid{{Service: "a", Node: "n1", Resources: map[string]Quantiles{
					"cpu": q(100, 200, 300), "io": q(5, 6, 7)}}}},
			check: func(t *testing.T, plan *Plan) {
				if a := allocOf(plan, "a", "n1"); a.Memory != 0 || a.IO != 0 {
					t.Fatalf("got %+v", a)
				}
			},
		},
		{
			name: "unknown service and node are reported",
			p: Problem{Nodes: []Node{cpuNode("n1", 1000)}, Services: []Service{svc("a", "", 0)},
				Bids: []Bid{cpuBid("a", "n1", q(1, 2, 3)), cpuBid("zz", "n1", q(1, 2, 3)), cpuBid("a", "n9", q(1, 2, 3))}},
			check: func(t *testing.T, plan *Plan) {
				if len(plan.Allocations) != 1 || len(plan.Problems) != 2 {
					t.Fatalf("allocations %v problems %v", plan.Allocations, plan.Problems)
				}
			},
		},
		{
			name: "mins above capacity are scaled and reported",
			p: Problem{Nodes: []Node{cpuNode("n1", 1000)}, Services: []Service{svc("a", "", 800), svc("b", "", 800)},
				Bids: []Bid{cpuBid("a", "n1", q(900, 900, 900)), cpuBid("b", "n1", q(900, 900, 900))}},
			check: func(t *testing.T, plan *Plan) {
				a, b := allocOf(plan, "a", "n1"), allocOf(plan, "b", "n1")
				if a.CPU+b.CPU != 1000 || a.CPU != 500 || len(plan.Problems) != 1 || !strings.Contains(plan.Problems[0], "exceed") {
					t.Fatalf("a %d b %d problems %v", a.CPU, b.CPU, plan.Problems)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Solve(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(plan.Hash, "sha256:") {
				t.Fatalf("hash %q", plan.Hash)
			}
			tc.check(t, plan)
		})
	}
}

func TestSolveErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
	}{
		{"duplicate node", Problem{Nodes: []Node{cpuNode("n1", 1), cpuNode("n1", 2)}}},
		{"negative capacity", Problem{Nodes: []Node{cpuNode("n1", -1)}}},
		{"bad option", Problem{Options: Options{HeadroomFrac: 0.9}}},
		{"duplicate service", Problem{Services: []Service{svc("a", "", 0), svc("a", "", 0)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Solve(tc.p); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestExplainOnDemandMatchesPlan(t *testing.T) {
	p := Problem{
		Epoch:    3,
		Nodes:    []Node{cpuNode("n1", 4000), cpuNode("n2", 2000)},
		Services: []Service{svc("a", ClassCritical, 100), svc("b", ClassBatch, 100)},
		Bids: []Bid{cpuBid("a", "n1", q(3000, 4000, 5000)), cpuBid("b", "n1", q(2000, 2500, 3000)),
			cpuBid("b", "n2", q(1000, 1500, 2500))},
		Options: DefaultOptions(),
	}
	full, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Options.SkipExplain = true
	lean, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	if lean.Explain != nil || lean.Hash == full.Hash {
		t.Fatalf("skip_explain: explain %v, hash should differ (options are hashed)", lean.Explain)
	}
	got, err := Explain(p, lean, "b")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got, full.Explain[1:]) {
		t.Fatalf("on demand %+v\nin plan %+v", got, full.Explain[1:])
	}
	p.Bids[0].Resources["cpu"] = q(1, 2, 3)
	if _, err := Explain(p, lean, "b"); err == nil {
		t.Fatal("explain with another problem: want error")
	}
}

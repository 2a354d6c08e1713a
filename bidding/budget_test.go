package bidding

import (
	"strings"
	"testing"
)

func TestClusterBudget(t *testing.T) {
	nodes := []Node{cpuNode("n1", 16000), cpuNode("n2", 16000)}
	svcs := []Service{svc("crit", ClassCritical, 200), svc("batch", ClassBatch, 200)}
	bids := []Bid{
		cpuBid("crit", "n1", q(3000, 4000, 5000)), cpuBid("crit", "n2", q(3000, 4000, 5000)),
		cpuBid("batch", "n1", q(3000, 4000, 5000)), cpuBid("batch", "n2", q(3000, 4000, 5000)),
	}
	total := func(p *Plan) (sum, crit, batch int64) {
		for _, a := range p.Allocations {
			sum += a.CPU
			if a.Service == "crit" {
				crit += a.CPU
			} else {
				batch += a.CPU
			}
		}
		return
	}
	tests := []struct {
		name     string
		budget   int64
		check    func(t *testing.T, p *Plan, sum, crit, batch int64)
		problems string
	}{
		{name: "no budget: every bid max fits", budget: 0, check: func(t *testing.T, p *Plan, sum, crit, batch int64) {
			if sum != 20000 {
				t.Fatalf("granted %d, want 20000", sum)
			}
		}},
		{name: "budget above demand does not bind", budget: 30000, check: func(t *testing.T, p *Plan, sum, crit, batch int64) {
			if sum != 20000 || p.Stats.BudgetPrices != nil {
				t.Fatalf("granted %d (budget prices %v), want 20000 and no budget row", sum, p.Stats.BudgetPrices)
			}
		}},
		{name: "binding budget goes to the critical service first", budget: 10000, check: func(t *testing.T, p *Plan, sum, crit, batch int64) {
			if sum != 10000 {
				t.Fatalf("granted %d, want the budget 10000", sum)
			}
			if crit <= batch {
				t.Fatalf("critical %d ≤ batch %d", crit, batch)
			}
			if p.Stats.BudgetPrices["cpu"] <= 0 {
				t.Fatalf("budget price %v, want > 0", p.Stats.BudgetPrices)
			}
			if p.Stats.Gap > 1e-9 {
				t.Fatalf("gap %g", p.Stats.Gap)
			}
			var sawBudget bool
			for _, e := range p.Explain {
				sawBudget = sawBudget || e.Resources["cpu"].Binding == "cluster budget"
			}
			if !sawBudget {
				t.Fatalf("no placement explained as bound by the cluster budget: %+v", p.Explain)
			}
		}},
		{name: "floors shrink to the budget but keep minimums", budget: 1200, check: func(t *testing.T, p *Plan, sum, crit, batch int64) {
			if sum > 1200 {
				t.Fatalf("granted %d above the budget 1200", sum)
			}
			for _, a := range p.Allocations {
				if a.CPU < 200 {
					t.Fatalf("%s/%s got %d, below its minimum 200", a.Service, a.Node, a.CPU)
				}
			}
		}},
		{name: "minimums above the budget are scaled and reported", budget: 400, problems: "exceed its budget", check: func(t *testing.T, p *Plan, sum, crit, batch int64) {
			if sum != 400 {
				t.Fatalf("granted %d, want the budget 400", sum)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Problem{Epoch: 1, Nodes: nodes, Services: svcs, Bids: bids}
			p.Options.Budget[CPU] = tc.budget
			plan, err := Solve(p)
			if err != nil {
				t.Fatal(err)
			}
			sum, crit, batch := total(plan)
			tc.check(t, plan, sum, crit, batch)
			got := strings.Join(plan.Problems, "; ")
			if tc.problems == "" && got != "" || !strings.Contains(got, tc.problems) {
				t.Fatalf("problems %q, want %q", got, tc.problems)
			}
		})
	}
}

func TestShareCapTrimsFloors(t *testing.T) {
	// One service with a big median on four nodes would get fair floors
	// far above a 10% share cap; the floors must stop at the cap.
	var nodes []Node
	var bids []Bid
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		nodes = append(nodes, cpuNode(n, 10000))
		bids = append(bids, cpuBid("big", n, q(9000, 9500, 10000)))
	}
	p := Problem{Epoch: 1, Nodes: nodes, Services: []Service{svc("big", ClassStandard, 100)}, Bids: bids,
		Options: Options{ShareCap: 0.1}}
	plan, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	var floors int64
	for _, e := range plan.Explain {
		floors += e.Resources["cpu"].Floor
	}
	if floors > 4000 {
		t.Fatalf("floors %d above the share cap 4000", floors)
	}
	// Nobody else wants the rest: the spill still hands it over.
	var got int64
	for _, a := range plan.Allocations {
		got += a.CPU
	}
	if got != 40000 {
		t.Fatalf("granted %d, want 40000 (nobody else wants it)", got)
	}
	// Minimums above the cap stay, and are reported.
	p.Services[0].Min[CPU] = 2000
	plan, err = Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan.Problems, ";"), "exceed its share cap") {
		t.Fatalf("problems %q, want the share cap reported", plan.Problems)
	}
	for _, a := range plan.Allocations {
		if a.CPU < 2000 {
			t.Fatalf("%s got %d, below its minimum", a.Node, a.CPU)
		}
	}
}

// With a budget the whole LP goes through the network simplex from the zero
// flow; at an iteration cap of 1 it must fall back to the greedy, flagged,
// and the greedy must still keep the budget, and the deadband too.
func TestBudgetFallbackAndDeadbandKeepBudget(t *testing.T) {
	p := Problem{Epoch: 1, Nodes: []Node{cpuNode("n1", 16000), cpuNode("n2", 16000)},
		Services: []Service{svc("a", ClassCritical, 0), svc("b", ClassStandard, 0), svc("c", ClassBatch, 0)},
		Bids: []Bid{cpuBid("a", "n1", q(3000, 4000, 5000)), cpuBid("b", "n1", q(3000, 4000, 5000)),
			cpuBid("b", "n2", q(3000, 4000, 5000)), cpuBid("c", "n2", q(3000, 4000, 5000))}}
	p.Options.Budget[CPU] = 9000
	p.Options.Deadband = 0.5
	sum := func(pl *Plan) (s int64) {
		for _, a := range pl.Allocations {
			s += a.CPU
		}
		return s
	}
	exact, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	capped := p
	capped.Options.MaxIterations = 1
	fb, err := Solve(capped)
	if err != nil {
		t.Fatal(err)
	}
	if !fb.Stats.Fallback || exact.Stats.Fallback {
		t.Fatalf("fallback flags: capped %v, exact %v", fb.Stats.Fallback, exact.Stats.Fallback)
	}
	if s := sum(fb); s > 9000 {
		t.Fatalf("greedy fallback granted %d above the budget", s)
	}
	if fb.Stats.Objective > exact.Stats.Objective+1e-9 {
		t.Fatalf("fallback objective %v above the optimum %v", fb.Stats.Objective, exact.Stats.Objective)
	}
	// A previous plan that granted more everywhere: the deadband may not
	// hold it up past the budget.
	prev := *exact
	prev.Allocations = append([]Allocation(nil), exact.Allocations...)
	for i := range prev.Allocations {
		prev.Allocations[i].CPU += prev.Allocations[i].CPU / 4
	}
	p.Previous = &prev
	next, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := sum(next); s > 9000 {
		t.Fatalf("deadband held %d above the budget", s)
	}
}

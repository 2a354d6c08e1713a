package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// TestEndToEnd replays the example scenario (four services on the demo's
// NAB traces, one day after one day of warm-up) through Main with --json,
// and checks the document's shape and that the oracle is never beaten.
func TestEndToEnd(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// A buffer is not a terminal: the bar is asked for (by default it is drawn only on one).
	code := Main([]string{"--scenario", "testdata/example.hcl", "--days", "1", "--warmup", "1", "--json", "--progress"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "100%") {
		t.Errorf("no progress bar on stderr: %q", stderr.String())
	}
	var rep struct {
		Scenario string  `json:"scenario"`
		Services int     `json:"services"`
		Nodes    int     `json:"nodes"`
		Days     float64 `json:"days"`
		Results  []struct {
			Contention float64 `json:"contention"`
			Policies   []struct {
				Name         string   `json:"name"`
				Slack        *float64 `json:"slack"`
				Shortfall    *float64 `json:"shortfall"`
				OOMRisk      *float64 `json:"oom_risk"`
				UtilityRatio *float64 `json:"utility_ratio"`
				Jain         *float64 `json:"jain"`
				Churn        *float64 `json:"churn"`
			} `json:"policies"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, stdout.String())
	}
	if rep.Scenario != "example" || rep.Services != 4 || rep.Nodes != 2 || rep.Days != 1 {
		t.Errorf("header = %+v", rep)
	}
	if len(rep.Results) != 3 || rep.Results[1].Contention != 1.0 {
		t.Fatalf("results = %+v", rep.Results)
	}
	for _, lv := range rep.Results {
		var names []string
		for _, p := range lv.Policies {
			names = append(names, p.Name)
			for _, v := range []*float64{p.Slack, p.Shortfall, p.OOMRisk, p.UtilityRatio, p.Jain, p.Churn} {
				if v == nil || math.IsNaN(*v) || *v < 0 || *v > 1+1e-9 && v != p.Churn {
					t.Errorf("contention %v policy %s: a metric is missing or out of range: %+v", lv.Contention, p.Name, p)
				}
			}
		}
		if strings.Join(names, ",") != strings.Join(AllPolicies(), ",") {
			t.Errorf("policies %v, want %v", names, AllPolicies())
		}
		for _, p := range lv.Policies {
			if *p.UtilityRatio > 1+1e-9 {
				t.Errorf("%s at contention %.1f beats the oracle: utility ratio %v", p.Name, lv.Contention, *p.UtilityRatio)
			}
		}
	}
}

// TestPlots writes the plots of a short replay of two policies (small, to
// keep the race detector's PNG encoding fast), and checks the table.
func TestPlots(t *testing.T) {
	out := t.TempDir()
	o, err := ParseArgs([]string{"--scenario", "testdata/example.hcl", "--days", "0.5", "--warmup", "1", "--policy", "allot,vpa", "--contention", "1", "--progress=false"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	res, contention, policies, err := Simulate(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := NewReport(res, contention, policies).WriteTable(&table); err != nil || !strings.Contains(table.String(), "contention 1.0") {
		t.Errorf("table: %v\n%s", err, table.String())
	}
	if err := writePlots(res, contention, policies, out, 0.3); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"slack-shortfall.png", "tradeoff.png", "alloc-node-1.png", "alloc-node-2.png", "forecast-web.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("plot %s missing: %v", f, err)
		}
	}
}

// TestOracleOptimalPerEpoch: on random one-epoch instances (random weights,
// demands and capacities), no feasible allocation, random or from a
// baseline, has more utility than the oracle's plan.
func TestOracleOptimalPerEpoch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	classes := []bidding.Class{bidding.ClassCritical, bidding.ClassStandard, bidding.ClassBatch}
	for inst := range 60 {
		w := &World{Name: "rand", Epoch: 300e9, Warmup: 2, Steps: 1, Nodes: []string{"n1", "n2"}}
		nsvc := 2 + rng.IntN(6)
		for s := range nsvc {
			sv := Svc{Def: bidding.Service{Name: string(rune('a' + s)), Class: classes[rng.IntN(3)]}, Node: rng.IntN(2)}
			var p95 [nr]float64
			for _, r := range []int{0, 1} {
				sv.Has[r] = true
				base := 100 + rng.Float64()*5000
				if r == 1 {
					base *= 1 << 20
				}
				sv.Demand[r] = []float64{base * rng.Float64(), base * rng.Float64(), base * 2 * rng.Float64()}
				p95[r] = base
			}
			w.Svcs = append(w.Svcs, sv)
			w.p95 = append(w.p95, p95)
			w.norm = append(w.norm, p95)
		}
		c := 0.5 + rng.Float64()
		nodes := w.Capacities(c)
		eff, err := effectiveCapacities(nodes)
		if err != nil {
			t.Fatal(err)
		}
		e := &env{w: w, nodes: nodes, eff: eff}
		utility := func(alloc [][nr]int64) float64 {
			a := newAcc(w.p95, eff)
			d := make([][nr]float64, nsvc)
			has := make([][nr]bool, nsvc)
			wt := make([]float64, nsvc)
			for s, sv := range w.Svcs {
				has[s], wt[s] = sv.Has, sv.Def.EffectiveWeight()
				for r := range nr {
					if sv.Has[r] {
						d[s][r] = sv.Demand[r][w.Warmup]
					}
				}
			}
			a.epoch(alloc, d, NewKernel(w, nil, PolicyOracle).Served(alloc, d, make([][nr]float64, nsvc)), has, wt, make([]bool, nsvc))
			return a.util
		}
		oracle, err := newAllot(e, allotCfg{oracle: true}).allocate(0)
		if err != nil {
			t.Fatal(err)
		}
		best := utility(oracle)
		starved := false // the oracle could not give every service its memory
		for s, sv := range w.Svcs {
			if sv.Has[bidding.Memory] && float64(oracle[s][bidding.Memory]) < sv.Demand[bidding.Memory][w.Warmup] {
				starved = true
			}
		}
		if starved {
			// an OOM kill costs the service every resource, which the LP
			// does not see: the oracle is its answer, not a proven optimum
			continue
		}
		// rivals: this epoch's demand + 15% (a reactive rule that saw it),
		// VPA-like and static
		seen := make([][nr]float64, nsvc)
		for s, sv := range w.Svcs {
			for r := range nr {
				if sv.Has[r] {
					seen[s][r] = sv.Demand[r][w.Warmup] * (1 + reactiveMargin)
				}
			}
		}
		rivals := [][][nr]int64{e.fit(seen)}
		for _, p := range []policy{newVPA(e), newStatic(e)} {
			a, err := p.allocate(0)
			if err != nil {
				t.Fatal(err)
			}
			rivals = append(rivals, a)
		}
		for range 20 {
			req := make([][nr]float64, nsvc)
			for s := range req {
				for r := range nr {
					req[s][r] = rng.Float64() * 3 * w.p95[s][r]
				}
			}
			rivals = append(rivals, e.fit(req))
		}
		for i, a := range rivals {
			if u := utility(a); u > best*(1+1e-9)+1e-12 {
				t.Errorf("instance %d: rival %d has utility %v > oracle's %v", inst, i, u, best)
			}
		}
	}
}

func TestScenarioFileErrors(t *testing.T) {
	base := `nodes = ["n1"]
service "a" {
  node = "n1"
  series "cpu" {
    file = "ec2_cpu_utilization_5f5533.csv"
    %s
  }
}
%s`
	tests := []struct {
		name, series, extra, want string
	}{
		{"no scale", "", "", "scale"},
		{"both", `scale = 1
    p95 = "1"`, "", "not both"},
		{"bad p95", `p95 = "lots"`, "", "p95"},
		{"unknown key", `scale = 1
    colour = "red"`, "", "colour"},
		{"unknown node", `scale = 1`, `service "b" {
  node = "n9"
  series "cpu" {
    file = "ec2_cpu_utilization_5f5533.csv"
    scale = 1
  }
}`, "unknown node"},
		{"capacity of an unknown node", `scale = 1`, `capacity "n9" {
  cpu = "1"
}`, "not one of the nodes"},
		{"bad capacity", `scale = 1`, `capacity "n1" {
  cpu = "lots"
}`, "capacity"},
		{"bad breach", `scale = 1`, `breach {
  service = "a"
  start = "soon"
  duration = "1h"
  factor = 2
}`, "breach"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "s.hcl")
			body := strings.Replace(strings.Replace(base, "%s", tc.series, 1), "%s", tc.extra, 1)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			sc, err := LoadScenarioFile(p, "../demo/data")
			if err == nil {
				_, err = Build(sc)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"--trace", "x", "--policy", "magic"},
		{"--trace", "x", "--days", "0"},
		{"--trace", "x", "extra"},
	}
	for _, args := range tests {
		var out, errb bytes.Buffer
		if code := Main(args, &out, &errb); code != 2 {
			t.Errorf("Main(%q) = %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--trace", t.TempDir()}, &out, &errb); code != 1 {
		t.Errorf("empty trace dir: exit %d, want 1", code)
	}
}

func TestScenarioJSON(t *testing.T) {
	sc, err := LoadScenarioFile("testdata/example.json", "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "example-json" || len(w.Svcs) != 2 || w.Steps != 288 || w.Warmup != 288 || len(w.Breaches) != 1 {
		t.Fatalf("world %s: %d services, %d+%d epochs, %d breaches", w.Name, len(w.Svcs), w.Warmup, w.Steps, len(w.Breaches))
	}
	web := w.Svcs[0]
	if web.Def.Name != "web" {
		web = w.Svcs[1]
	}
	if !web.Has[bidding.CPU] || !web.Has[bidding.Net] || web.Def.Min[bidding.CPU] != 100 || web.Def.Class != bidding.ClassCritical {
		t.Errorf("web = %+v", web.Def)
	}
	// scale 10: the trace's percent of a core in millicores, before the breach
	if got := web.Demand[bidding.CPU][0]; got < 300 || got > 700 {
		t.Errorf("web cpu[0] = %v millicores, want 10 × a ~43%% trace value", got)
	}
}

// TestObserveCapped runs Allot with forecasters fed the capped usage.
func TestObserveCapped(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"--scenario", "testdata/example.hcl", "--days", "0.5", "--warmup", "1", "--policy", "allot", "--contention", "1", "--observe", "capped", "--json", "--progress=false"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"name": "allot"`) {
		t.Errorf("no allot result: %s", stdout.String())
	}
}

// TestScenarioCapacityAndProbes: a capacity block fixes a node's resource
// whatever the contention; sla_probes = false turns services' probes off.
func TestScenarioCapacityAndProbes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.hcl")
	body := `nodes = ["n1"]
sla_probes = false
capacity "n1" {
  memory = "1GiB"
}
service "a" {
  node = "n1"
  series "cpu" {
    file = "ec2_cpu_utilization_5f5533.csv"
    p95  = "500m"
  }
}
`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadScenarioFile(p, "../demo/data")
	if err != nil {
		t.Fatal(err)
	}
	sc.Days, sc.WarmupDays = 0.1, 0.1
	w, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	if w.SLAProbes {
		t.Error("sla_probes = false left probes on")
	}
	for _, c := range []float64{0.5, 2} {
		n := w.Capacities(c)[0].Capacity
		if n[bidding.Memory] != 1<<30 || n[bidding.CPU] != int64(math.Ceil(500/c)) {
			t.Errorf("contention %v: capacity %v, want memory fixed at 1 GiB and cpu 500m/%v", c, n, c)
		}
	}
}

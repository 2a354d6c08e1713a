package sim

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

func TestResourceFor(t *testing.T) {
	tests := []struct {
		file, col string
		want      bidding.Resource
	}{
		{"x.csv", "cpu_usage", bidding.CPU},
		{"x.csv", "avg_mem", bidding.Memory},
		{"x.csv", "assigned_mem", bidding.Memory},
		{"x.csv", "disk_write", bidding.IO},
		{"x.csv", "io", bidding.IO},
		{"x.csv", "network_in", bidding.Net},
		{"x.csv", "avg_cycles_per_instruction", bidding.CPU},
		{"nab/ec2_network_in_257a54.csv", "value", bidding.Net},
		{"nab/ec2_disk_write_bytes_1ef3de.csv", "value", bidding.IO},
		{"nab/elb_request_count_8c0756.csv", "value", bidding.CPU},
		{"m4.csv", "ratio", bidding.CPU}, // "ratio" holds "io" but is not an io word
	}
	for _, tc := range tests {
		if got := resourceForColumn(tc.file, tc.col); got != tc.want {
			t.Errorf("resourceForColumn(%q, %q) = %s, want %s", tc.file, tc.col, got, tc.want)
		}
	}
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTraces(t *testing.T) {
	dir := t.TempDir()
	// time column in seconds, a duplicate time (averaged) and a gap (interpolated)
	writeFile(t, dir, "a/cluster.csv", "timestamp,cpu_usage,mem_used,label\n0,1,10,x\n300,2,20,y\n300,4,20,z\n900,6,40,w\n")
	// no time column: taken at the default step
	writeFile(t, dir, "b.csv", "net_in,io_ops\n1,5\n2,6\n3,7\n")
	// M4 layout: one series per row, hourly
	writeFile(t, dir, "m4.csv", `"V1","V2","V3","V4","V5","V6","V7","V8","V9","V10","V11","V12","V13","V14","V15","V16","V17","V18","V19","V20","V21"`+"\n"+`"H1",1,2,3,,,,,,,,,,,,,,,,,`+"\n")
	writeFile(t, dir, "notes.txt", "ignored")
	ss, skipped, err := LoadTraces(dir, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 0 {
		t.Errorf("skipped %v", skipped)
	}
	got := map[string]*Series{}
	for _, s := range ss {
		got[s.ID()] = s
	}
	want := []struct {
		id   string
		res  bidding.Resource
		step time.Duration
		v    []float64
	}{
		{"a/cluster.csv#cpu_usage", bidding.CPU, 5 * time.Minute, []float64{1, 3, 4.5, 6}},
		{"a/cluster.csv#mem_used", bidding.Memory, 5 * time.Minute, []float64{10, 20, 30, 40}},
		{"b.csv#net_in", bidding.Net, 5 * time.Minute, []float64{1, 2, 3}},
		{"b.csv#io_ops", bidding.IO, 5 * time.Minute, []float64{5, 6, 7}},
		{"m4.csv#H1", bidding.CPU, time.Hour, []float64{1, 2, 3}},
	}
	if len(got) != len(want) {
		t.Errorf("got %d series, want %d: %v", len(got), len(want), got)
	}
	for _, w := range want {
		s, ok := got[w.id]
		if !ok {
			t.Errorf("missing %s", w.id)
			continue
		}
		if s.Resource != w.res || s.Step != w.step || len(s.Values) != len(w.v) {
			t.Errorf("%s: %s every %v, %v; want %s every %v, %v", w.id, s.Resource, s.Step, s.Values, w.res, w.step, w.v)
			continue
		}
		for i := range w.v {
			if !near(s.Values[i], w.v[i]) {
				t.Errorf("%s: values %v, want %v", w.id, s.Values, w.v)
				break
			}
		}
	}
}

func TestRegrid(t *testing.T) {
	got := regrid([]float64{0, 12}, time.Hour, 5*time.Minute)
	if len(got) != 13 || !near(got[1], 1) || !near(got[12], 12) {
		t.Errorf("regrid = %v", got)
	}
}

func TestDefaultScenario(t *testing.T) {
	mk := func(file, col string, r bidding.Resource, n int, phase float64) *Series {
		v := make([]float64, n)
		for i := range v {
			v[i] = 10 + float64((i+int(phase))%7)
		}
		return &Series{File: file, Column: col, Resource: r, Step: 5 * time.Minute, Values: v}
	}
	need := 2 * 288
	all := []*Series{
		mk("a.csv", "cpu", bidding.CPU, need, 0),
		mk("a.csv", "mem", bidding.Memory, need, 1),
		mk("b.csv", "value", bidding.CPU, need+100, 2),
		mk("c.csv", "value", bidding.CPU, need, 3),
		mk("c.csv", "value2", bidding.CPU, need, 4),
		mk("d.csv", "short", bidding.CPU, need-1, 5), // too short
		mk("e.csv", "m1", bidding.Memory, need, 6),
		{File: "f.csv", Column: "flat", Resource: bidding.CPU, Step: 5 * time.Minute, Values: make([]float64, need)}, // idle: usable, never borrowed as a memory shape
	}
	sc, err := DefaultScenario(all, GenOptions{Services: 4, Nodes: 2, Days: 1, Warmup: 1, Seed: 3, Breaches: 2, Epoch: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Services) != 4 || len(sc.Nodes) != 2 {
		t.Fatalf("%d services on %d nodes", len(sc.Services), len(sc.Nodes))
	}
	perNode := map[string]int{}
	for _, s := range sc.Services {
		perNode[s.Node]++
		if s.Series[bidding.Memory] == nil {
			t.Errorf("%s has no memory series", s.Name)
		}
		for _, ss := range s.Series {
			if ss != nil && ss.Series.Column == "short" {
				t.Errorf("%s uses unusable series %s", s.Name, ss.Series.ID())
			}
			if ss != nil && ss.Series.Column == "flat" && s.Series[bidding.CPU] != ss {
				t.Errorf("%s borrows the flat series %s as a shape", s.Name, ss.Series.ID())
			}
		}
	}
	if perNode["node-1"] == 0 || perNode["node-2"] == 0 {
		t.Errorf("services per node %v, want both nodes used", perNode)
	}
	w, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	caps := w.Capacities(1)
	for _, s := range w.Svcs {
		for r := range nr {
			if s.Has[r] && s.Label[r] != "f.csv#flat" && quantile(s.Demand[r][w.Warmup:], 0.95) <= 0 {
				t.Errorf("%s: %s p95 is zero", s.Def.Name, bidding.Resource(r))
			}
		}
	}
	var sum float64
	for i := range w.Svcs {
		sum += w.p95[i][bidding.CPU]
	}
	if got := float64(caps[0].Capacity[bidding.CPU] + caps[1].Capacity[bidding.CPU]); math.Abs(got-sum) > 2 {
		t.Errorf("cpu capacity at contention 1 = %v, want Σp95 = %v", got, sum)
	}
	if _, err := DefaultScenario(all, GenOptions{Services: 9, Nodes: 2, Days: 1, Warmup: 1, Epoch: 5 * time.Minute}); err == nil {
		t.Error("9 services from 7 usable groups: want an error")
	}
}

package sim

import (
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

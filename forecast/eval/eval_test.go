package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no dataset", []string{"--data", "x"}, 2},
		{"bad dataset", []string{"--dataset", "m5", "--data", "x"}, 2},
		{"no data", []string{"--dataset", "m4-hourly"}, 2},
		{"csv without column", []string{"--dataset", "csv", "--data", "x", "--interval", "5m"}, 2},
		{"csv without interval", []string{"--dataset", "csv", "--data", "x", "--column", "v"}, 2},
		{"bad horizon", []string{"--dataset", "m4-hourly", "--data", "x", "--horizon", "-1"}, 2},
		{"unknown flag", []string{"--frobnicate"}, 2},
		{"extra arg", []string{"--dataset", "m4-hourly", "--data", "x", "more"}, 2},
		{"help", []string{"-h"}, 0},
		{"missing dir", []string{"--dataset", "m4-hourly", "--data", "/nonexistent"}, 1},
		{"unknown model", []string{"--dataset", "m4-hourly", "--data", "testdata/m4-sample", "--model", "oracle"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main(c.args, &out, &errb); code != c.code {
				t.Errorf("exit %d want %d; stderr %s", code, c.code, errb.String())
			}
		})
	}
}

// The M4 path scores naive2 and snaive and produces the documented JSON.
func TestM4SampleJSON(t *testing.T) {
	var out, errb bytes.Buffer
	// A buffer is not a terminal: the bar is asked for (by default it is drawn only on one).
	code := Main([]string{"--dataset", "m4-hourly", "--data", "testdata/m4-sample", "--model", "auto", "--json", "--progress"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Dataset string
		Series  int
		Horizon int
		Models  []map[string]any
		Best    string
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	if rep.Dataset != "m4-hourly" || rep.Series != 3 || rep.Horizon != 48 || rep.Best != "auto" {
		t.Errorf("report header %+v", rep)
	}
	names := map[string]bool{}
	for _, m := range rep.Models {
		names[m["name"].(string)] = true
		for _, k := range []string{"smape", "mase", "owa", "coverage90", "coverage99", "seconds"} {
			v, ok := m[k].(float64)
			if !ok || math.IsNaN(v) {
				t.Errorf("row %v: field %s = %v", m["name"], k, m[k])
			}
		}
	}
	for _, n := range []string{"naive2", "snaive", "auto"} {
		if !names[n] {
			t.Errorf("missing row %s", n)
		}
	}
	if !strings.Contains(errb.String(), "3/3") {
		t.Errorf("no progress bar on stderr: %q", errb.String())
	}
}

// The csv path handles a timestamped file, an evenly spaced one and a
// directory.
func TestCSVModes(t *testing.T) {
	dir := t.TempDir()
	var timed, plain strings.Builder
	timed.WriteString("timestamp,value\n")
	plain.WriteString("avg_cpu,other\n")
	for i := 0; i < 700; i++ {
		v := 10 + 3*math.Sin(2*math.Pi*float64(i)/288) + float64(i%7)/10
		ts := fmt.Sprintf("2014-03-0%d %02d:%02d:00", 1+i/288, (i%288)/12, (i%12)*5)
		fmt.Fprintf(&timed, "%s,%g\n", ts, v)
		if i == 300 {
			fmt.Fprintf(&timed, "%s,%g\n", ts, v+1) // duplicate
		}
		fmt.Fprintf(&plain, "%g,1\n", v)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte(timed.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.csv"), []byte(timed.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	plainPath := filepath.Join(t.TempDir(), "p.csv")
	if err := os.WriteFile(plainPath, []byte(plain.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		series int
	}{
		{"dir", []string{"--data", dir, "--column", "value", "--time-column", "timestamp"}, 2},
		{"plain", []string{"--data", plainPath, "--column", "avg_cpu", "--model", "ets"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"--dataset", "csv", "--interval", "5m", "--horizon", "12", "--json", "--quiet"}, c.args...)
			if code := Main(args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var rep Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Series != c.series || rep.Horizon != 12 || len(rep.Models) < 3 {
				t.Errorf("report %+v", rep)
			}
			for _, m := range rep.Models {
				if m.OWA != nil || m.Coverage90 < 0.5 && m.Name != plainSNaive || m.MASE <= 0 {
					t.Errorf("row %+v", m)
				}
			}
			if len(rep.Checks) == 0 || rep.Checks[0].Group != "all" || rep.Checks[0].Series != c.series || len(rep.PerSeries) != c.series {
				t.Errorf("checks %+v, per series %d", rep.Checks, len(rep.PerSeries))
			}
			for _, m := range rep.PerSeries[0].Models {
				if (m.Coverage90Strict == nil || m.Calibrated90 == nil || m.Coverage90Ties == nil || *m.Coverage90Strict > *m.Coverage90 || *m.Coverage90 > *m.Coverage90Ties) != (m.Model == plainSNaive) {
					t.Errorf("per-series coverage %+v", m)
				}
			}
		})
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--dataset", "csv", "--data", plainPath, "--column", "all", "--interval", "5m", "--model", "naive", "--json", "--quiet"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "p.csv#avg_cpu") {
		t.Errorf("--column all: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := Main([]string{"--dataset", "csv", "--data", plainPath, "--column", "nope", "--interval", "5m"}, &out, &errb); code != 1 {
		t.Errorf("missing column: exit %d", code)
	}
}

func TestTableOutput(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"--dataset", "m4-hourly", "--data", "testdata/m4-sample", "--model", "naive2", "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"naive2", "snaive", "official Naive2", "best:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestStride: --stride scores every k-th origin only; 0 is a usage error.
func TestStride(t *testing.T) {
	var b strings.Builder
	b.WriteString("v\n")
	for i := 0; i < 700; i++ {
		fmt.Fprintf(&b, "%g\n", 10+3*math.Sin(2*math.Pi*float64(i)/288))
	}
	p := filepath.Join(t.TempDir(), "s.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--dataset", "csv", "--data", p, "--column", "v", "--interval", "5m", "--model", "naive", "--stride", "0"}, &out, &errb); code != 2 {
		t.Errorf("--stride 0: exit %d", code)
	}
	dump := t.TempDir()
	if code := Main([]string{"--dataset", "csv", "--data", p, "--column", "v", "--interval", "5m", "--model", "naive", "--stride", "24", "--json", "--quiet", "--dump", dump}, &out, &errb); code != 0 {
		t.Fatalf("--stride 24: exit %d: %s", code, errb.String())
	}
	if d, err := os.ReadFile(filepath.Join(dump, "s.csv")); err != nil || !strings.HasPrefix(string(d), "y\n10\n") || strings.Count(string(d), "\n") != 701 {
		t.Errorf("--dump wrote %q…: %v", string(d[:min(20, len(d))]), err)
	}
}

// TestCalibrated90: the ties-aware p90 check is the band on [strict,
// one-sided] coverage; without ties it is the plain band.
func TestCalibrated90(t *testing.T) {
	cases := []struct {
		name              string
		actual, p90       []float64
		nonStrict, strict float64
		want              bool
	}{
		{"all zero, p90 zero", []float64{0, 0, 0, 0}, []float64{0, 0, 0, 0}, 1, 0, true},
		{"no ties, in band", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 3}, []float64{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 0.9, 0.9, true},
		{"no ties, over", []float64{1, 1, 1, 1}, []float64{2, 2, 2, 2}, 1, 1, false},
		{"ties, half zero", []float64{0, 0, 5, 5}, []float64{0, 0, 0, 0}, 0.5, 0, false},
		{"ties, under", []float64{0, 0, 0, 0, 0, 0, 0, 0, 5, 5}, []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0.8, 0, false},
		{"exact forecast", []float64{3, 4, 5}, []float64{3, 4, 5}, 1, 0, true},
		{"exact up to rounding", []float64{742.373, 0.3}, []float64{742.373 - 1e-13, 0.1 + 0.2}, 1, 0, true},
		{"not a tie", []float64{742.373, 1}, []float64{742.372, 0.999}, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s seriesScore
			for k := range c.actual {
				s.count90(c.actual[k], c.p90[k])
				s.n++
			}
			_, st, ns, ok := s.coverages()
			if !ok || ns != c.nonStrict || st != c.strict || calibrated90(st, ns) != c.want {
				t.Errorf("coverage %v/%v calibrated %v, want %v/%v %v", st, ns, calibrated90(st, ns), c.strict, c.nonStrict, c.want)
			}
		})
	}
}

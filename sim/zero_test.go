package sim

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/sim/tracegen"
)

// zeroFolder writes VMs whose disk is zero throughout, one VM idle on every
// resource, one whose cpu is zero except for rare bursts (p95 = 0) and one
// with heavy spikes.
func zeroFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const n = 3 * 288 // three days of 5-minute steps
	for vm, shape := range []func(i int) [4]float64{
		func(i int) [4]float64 { return [4]float64{0, 0, 0, 0} }, // idle on every resource
		func(i int) [4]float64 { // cpu bursts on 2% of the steps
			c := 0.0
			if i%50 == 7 {
				c = 40
			}
			return [4]float64{c, 100 + float64(i%10), 0, 0}
		},
		func(i int) [4]float64 { // spiky
			c := 10 + 5*math.Sin(float64(i)/45)
			if i%37 == 0 {
				c *= 20
			}
			return [4]float64{c, 500 + float64(i%288), 0, float64(i%7) * 3}
		},
		func(i int) [4]float64 { return [4]float64{5 + float64(i%12), 300, 0, 1} },
	} {
		var b strings.Builder
		b.WriteString("timestamp,cpu,memory,disk_read_kbs,net_in_kbs\n")
		for i := range n {
			v := shape(i)
			fmt.Fprintf(&b, "%d,%g,%g,%g,%g\n", i*300, v[0], v[1], v[2], v[3])
		}
		writeFile(t, dir, fmt.Sprintf("vm%d.csv", vm), b.String())
	}
	return dir
}

// TestZeroAndSpikyTraces: a folder of traces with all-zero and mostly-zero
// columns replays without an error (before: "series … is zero over the
// window"), --services defaults to what the traces offer, and a resource at
// zero throughout is allocated no more than its floor and counts as slack,
// never as shortfall.
func TestZeroAndSpikyTraces(t *testing.T) {
	dir := zeroFolder(t)
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--trace", dir, "--days", "1", "--warmup", "1", "--contention", "1", "--policy", "allot,vpa,static", "--progress=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	o, err := ParseArgs([]string{"--trace", dir, "--days", "1", "--warmup", "1", "--contention", "1", "--policy", "allot", "--progress=false"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	res, _, _, err := Simulate(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := res.World
	if len(w.Svcs) != 4 {
		t.Fatalf("%d services, want one per file (4)", len(w.Svcs))
	}
	zero := 0
	for s, sv := range w.Svcs {
		for r := range nr {
			if !sv.Has[r] || slicesMax(sv.Demand[r]) > 0 {
				continue
			}
			zero++
			if w.p95[s][r] != 0 || w.norm[s][r] <= 0 {
				t.Errorf("%s %s: p95 %v norm %v, want 0 and positive", sv.Def.Name, bidding.Resource(r), w.p95[s][r], w.norm[s][r])
			}
			for k, q := range res.Forecasts.Q[s][r] {
				if q.P50 != 0 || q.P90 != 0 || q.P99 != 0 {
					t.Fatalf("%s %s epoch %d: forecast %+v of a series at zero, want zero", sv.Def.Name, bidding.Resource(r), k, q)
				}
			}
		}
	}
	if zero < 4 {
		t.Errorf("only %d all-zero resources found, want the idle VM's and every disk", zero)
	}
	for _, run := range res.Runs {
		m := run.Metrics
		// the breakdowns add up to the headline figures
		for name, parts := range map[string]map[string]Part{"resource": m.ByResource, "class": m.ByClass, "family": m.ByFamily} {
			share := 0.0
			for _, p := range parts {
				share += p.AllocShare
			}
			if math.Abs(share-1) > 1e-9 {
				t.Errorf("%s: allocation shares by %s add up to %v", run.Policy, name, share)
			}
		}
		if src := m.SlackSources; src == nil || math.Abs(src.Kernel+src.Forecast+src.Padding+src.AboveBid-m.Slack) > 1e-9 || src.Kernel > m.Slack+1e-12 || m.SlackKernel != src.Kernel {
			t.Errorf("%s: slack sources %+v do not add up to slack %v", run.Policy, src, m.Slack)
		}
		if src := m.ShortfallSources; src == nil || math.Abs(src.NotGranted+src.AboveBid+src.Kernel-m.Shortfall) > 1e-9 || src.Kernel < -1e-12 {
			t.Errorf("%s: shortfall sources %+v do not add up to shortfall %v", run.Policy, src, m.Shortfall)
		}
		for _, v := range []float64{m.Slack, m.Shortfall, m.UtilityRatio} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1+1e-9 {
				t.Errorf("%s: metric out of range: %+v", run.Policy, m)
			}
		}
	}
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// TestGeneratedFamilies replays a short window of every generated family.
func TestGeneratedFamilies(t *testing.T) {
	for _, kind := range tracegen.Kinds() {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := tracegen.Generate(dir, tracegen.Options{Kind: kind, Files: 3, Days: 2.5, Seed: 7}); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := Main([]string{"--trace", dir, "--days", "1", "--warmup", "1", "--contention", "1", "--policy", "allot,vpa", "--progress=false", "--json"}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
		})
	}
}

package live

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/loadgen"
	"github.com/allot-dev/allot/sim"
)

// world is sim's example scenario (demo/data only), cut short.
func world(t *testing.T) *sim.World {
	t.Helper()
	sc, err := sim.LoadScenarioFile("../sim/testdata/example.hcl", "")
	if err != nil {
		t.Fatal(err)
	}
	sc.Days, sc.WarmupDays = 0.05, 0.1
	w, err := sim.Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestWriteTraces(t *testing.T) {
	w := world(t)
	// the example's web service replays net too: the live run refuses it
	if _, err := writeTraces(w, t.TempDir(), time.Now()); err == nil || !strings.Contains(err.Error(), "cpu and memory only") {
		t.Fatalf("a net series was accepted: %v", err)
	}
	w = w.Only(bidding.CPU)
	files, err := writeTraces(w, t.TempDir(), time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	api := files["api"]
	tr, hist := lines(t, api.Trace), lines(t, api.History)
	if api.Columns != "cpu" || tr[0] != "cpu" || len(tr) != 1+leadSteps+w.Steps {
		t.Fatalf("trace: columns %q, %d lines (header %q), want cpu and %d", api.Columns, len(tr), tr[0], 1+leadSteps+w.Steps)
	}
	if hist[0] != "time,cpu" || len(hist) != 1+w.Warmup-leadSteps {
		t.Fatalf("history: %d lines (header %q), want %d", len(hist), hist[0], 1+w.Warmup-leadSteps)
	}
	// the trace is in cores, the history in millicores, five minutes apart, ending before now
	var svc sim.Svc
	for _, s := range w.Svcs {
		if s.Def.Name == "api" {
			svc = s
		}
	}
	r, err := loadgen.ReadTrace(strings.NewReader(strings.Join(tr, "\n")), "cpu")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Values[leadSteps]*1000, svc.Demand[bidding.CPU][w.Warmup]; got < want-1 || got > want+1 {
		t.Errorf("first evaluated step replays %v millicores, the world says %v", got, want)
	}
	f0, f1 := strings.Split(hist[1], ","), strings.Split(hist[2], ",")
	if f0[0] >= f1[0] || len(f0) != 2 {
		t.Errorf("history rows %q, %q", hist[1], hist[2])
	}
}

func TestExpectedAndAgrees(t *testing.T) {
	for _, tc := range []struct {
		name        string
		a           bidding.Allocation
		smp         sample
		wantC, want int64
		ok          bool
	}{
		{"equal", bidding.Allocation{CPU: 250, Memory: 256 << 20}, sample{OK: true, CPULimit: 250, DockerCPU: 250, MemLimit: 256 << 20, DockerMem: 256<<20 + 100}, 250, 256 << 20, true},
		{"quota floor 10m", bidding.Allocation{CPU: 2}, sample{OK: true, CPULimit: 10, DockerCPU: 10, MemLimit: -1, DockerMem: -1}, 10, -1, true},
		{"cpu 0 is no limit", bidding.Allocation{}, sample{OK: true, CPULimit: -1, DockerCPU: -1, MemLimit: -1, DockerMem: -1}, -1, -1, true},
		{"memory 0 is no limit", bidding.Allocation{CPU: 100}, sample{OK: true, CPULimit: 100, DockerCPU: 100, MemLimit: 64 << 20, DockerMem: 64 << 20}, 100, -1, false},
		{"cpu off by 5%", bidding.Allocation{CPU: 200}, sample{OK: true, CPULimit: 210, DockerCPU: 210, MemLimit: -1, DockerMem: -1}, 200, -1, false},
		{"docker disagrees with the cgroup", bidding.Allocation{CPU: 200}, sample{OK: true, CPULimit: 200, DockerCPU: 400, MemLimit: -1, DockerMem: -1}, 200, -1, false},
		{"unreadable", bidding.Allocation{CPU: 200}, sample{CPULimit: 200, DockerCPU: 200, MemLimit: -1, DockerMem: -1}, 200, -1, false},
	} {
		c, m := expected(tc.a, false)
		if c != tc.wantC || m != tc.want {
			t.Errorf("%s: expected %d, %d; want %d, %d", tc.name, c, m, tc.wantC, tc.want)
		}
		if got := agrees(tc.smp, c, m); got != tc.ok {
			t.Errorf("%s: agrees = %v", tc.name, got)
		}
	}
}

func TestStaticLimitsFitTheNode(t *testing.T) {
	w := world(t).Only(bidding.CPU)
	eff := make([][nr]int64, len(w.Nodes))
	for n := range eff {
		eff[n][bidding.CPU] = 300 // far below the services' p95: scaled down in proportion
	}
	lim := staticLimits(w, eff, nil)
	sum := map[int]int64{}
	for _, s := range w.Svcs {
		v, ok := lim[s.Def.Name]
		if !ok || v[bidding.CPU] <= 0 {
			t.Fatalf("no static cpu limit for %s: %v", s.Def.Name, lim)
		}
		sum[s.Node] += v[bidding.CPU]
	}
	for n, v := range sum {
		if v > 300 || v < 297 {
			t.Errorf("node %d: static limits sum to %d, want the node's 300", n, v)
		}
	}
}

func TestPlanInForce(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC)
	var pl planLog
	for e := range 3 {
		pl.plans = append(pl.plans, bidding.Plan{Epoch: uint64(e + 1), Created: t0.Add(time.Duration(e) * 5 * time.Second)})
	}
	for _, tc := range []struct {
		at   time.Duration
		want []uint64
	}{
		{-time.Second, nil},
		{200 * time.Millisecond, nil}, // plan 1 is not applied yet
		{time.Second, []uint64{1}},
		{9 * time.Second, []uint64{2, 1}},
		{time.Minute, []uint64{3, 2}},
	} {
		got := pl.inForce(t0.Add(tc.at), 500*time.Millisecond)
		var eps []uint64
		for _, p := range got {
			eps = append(eps, p.Epoch)
		}
		if len(eps) != len(tc.want) || (len(eps) > 0 && (eps[0] != tc.want[0] || eps[len(eps)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("at %v: plans %v, want %v", tc.at, eps, tc.want)
		}
	}
}

// TestMeasured: the limits a sample read become the allocation (none:
// the node's effective capacity), loadgen's lines the usage, and a step
// with no line (the container dead) counts as missing with nothing got.
func TestMeasured(t *testing.T) {
	w := world(t).Only(bidding.CPU)
	eff := make([][nr]int64, len(w.Nodes))
	for n := range eff {
		eff[n][bidding.CPU] = 1000
	}
	pr := &policyRun{}
	for i, s := range w.Svcs {
		ls := &liveSvc{idx: i, name: s.Def.Name, samples: map[int]sample{}, lines: map[int]loadgen.Line{}}
		for k := 0; k < w.Steps; k++ {
			lim := int64(100)
			if k == 1 {
				lim = -1
			}
			ls.samples[k+leadSteps] = sample{OK: true, CPULimit: lim}
			if k != 2 {
				got := 0.09
				l := loadgen.Line{Step: k + leadSteps, Secs: 5}
				l.Got.CPU = &got
				ls.lines[k+leadSteps] = l
			}
		}
		pr.svcs = append(pr.svcs, ls)
	}
	m, missing := pr.measured(w, eff, 5*time.Second)
	if missing != len(w.Svcs) {
		t.Errorf("%d missing, want one per service", missing)
	}
	if m.Alloc[0][0][bidding.CPU] != 100 || m.Alloc[1][0][bidding.CPU] != 1000 || m.Got[0][0][bidding.CPU] != 90 || m.Got[2][0][bidding.CPU] != 0 {
		t.Errorf("alloc %v %v, got %v %v", m.Alloc[0][0], m.Alloc[1][0], m.Got[0][0], m.Got[2][0])
	}
	if _, err := sim.Score(w, 1, m); err != nil {
		t.Fatal(err)
	}
}

// TestSaveLoadRun: a saved run reads back as it was, and one saved for
// other services is refused by name.
func TestSaveLoadRun(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC)
	got := 0.2
	l := loadgen.Line{Step: 3, Secs: 5}
	l.Got.CPU = &got
	pr := &policyRun{policy: "allot", seconds: 700, t0: t0, faults: []fault{{What: "kill", KilledStep: 7, RestartStep: 10}}}
	pr.plans.plans = []bidding.Plan{{Epoch: 4, Created: t0, Allocations: []bidding.Allocation{{Service: "web", Node: "a", CPU: 250}}}}
	pr.svcs = []*liveSvc{{name: "web", node: "a", samples: map[int]sample{3: {OK: true, CPULimit: 250, At: t0}}, lines: map[int]loadgen.Line{3: l}, ooms: []time.Time{t0}, restarted: 1}}
	path := t.TempDir() + "/allot-run.json"
	if err := pr.save(path); err != nil {
		t.Fatal(err)
	}
	back, err := loadRun(path, []string{"web"})
	if err != nil {
		t.Fatal(err)
	}
	ls := back.svcs[0]
	if back.seconds != 700 || !back.t0.Equal(t0) || len(back.faults) != 1 || ls.samples[3].CPULimit != 250 || *ls.lines[3].Got.CPU != 0.2 || len(ls.ooms) != 1 || ls.restarted != 1 {
		t.Fatalf("read back %+v / %+v", back, ls)
	}
	if p, _ := back.plans.latest(); p.Epoch != 4 || p.Allocations[0].CPU != 250 {
		t.Fatalf("plans %+v", back.plans.plans)
	}
	if _, err := loadRun(path, []string{"api"}); err == nil || !strings.Contains(err.Error(), `"web"`) {
		t.Fatalf("a run of other services: %v", err)
	}
}

// TestCheckFaultsLimitsKept: the kill follows its step's sample, so a plan
// the client applied just before dying shows in the first sample after the
// kill and is not a broken promise; a change while the client is dead is.
func TestCheckFaultsLimitsKept(t *testing.T) {
	w := &sim.World{Nodes: []string{"a", "b"}, Steps: 20}
	const killed, restarted = 7, 10 // steps; samples are keyed by step + leadSteps
	for _, tc := range []struct {
		name     string
		changeAt int // sample key from which the cpu limit is 300 instead of 200
		want     bool
	}{
		{"unchanged", 99, true},
		{"last plan applied right after the killed step's sample", killed + leadSteps + 1, true},
		{"changed while the client was dead", killed + leadSteps + 2, false},
		{"changed at the restart's own sample", restarted + leadSteps, false},
		{"changed after the restart", restarted + leadSteps + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			smp := map[int]sample{}
			for k := 0; k < 16; k++ {
				smp[k] = sample{OK: true, CPULimit: 200, MemLimit: 1 << 28}
				if k >= tc.changeAt {
					smp[k] = sample{OK: true, CPULimit: 300, MemLimit: 1 << 28}
				}
			}
			other := map[int]sample{9: {CPULimit: 1}, 10: {CPULimit: 2}} // node b's client was alive
			pr := &policyRun{faults: []fault{{KilledStep: killed, RestartStep: restarted}},
				svcs: []*liveSvc{{name: "web", node: "a", samples: smp}, {name: "db", node: "b", samples: other}}}
			pr.checkFaults(w)
			if got := pr.faults[0].LimitsKept; got != tc.want {
				t.Fatalf("limits kept = %v, want %v", got, tc.want)
			}
		})
	}
}

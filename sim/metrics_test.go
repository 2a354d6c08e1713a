package sim

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSlackShortfallJain(t *testing.T) {
	tests := []struct {
		name             string
		a, u             []float64
		slack, shortfall float64
	}{
		{"exact", []float64{2, 3}, []float64{2, 3}, 0, 0},
		// slack (1+0)/(4+2) ; shortfall (0+1)/(3+3)
		{"mixed", []float64{4, 2}, []float64{3, 3}, 1.0 / 6, 1.0 / 6},
		// all over: slack (2+1)/(4+3)=3/7
		{"over", []float64{4, 3}, []float64{2, 2}, 3.0 / 7, 0},
		// all under: shortfall (1+3)/(2+4)=4/6
		{"under", []float64{1, 1}, []float64{2, 4}, 0, 4.0 / 6},
		{"empty", nil, nil, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Slack(tc.a, tc.u); !near(got, tc.slack) {
				t.Errorf("Slack = %v, want %v", got, tc.slack)
			}
			if got := Shortfall(tc.a, tc.u); !near(got, tc.shortfall) {
				t.Errorf("Shortfall = %v, want %v", got, tc.shortfall)
			}
		})
	}
	jain := []struct {
		x    []float64
		want float64
	}{
		{[]float64{1, 1, 1, 1}, 1},
		{[]float64{1, 0, 0, 0}, 0.25},       // (1)²/(4·1)
		{[]float64{1, 0.5}, 2.25 / 2.5},     // (1.5)²/(2·1.25)
		{[]float64{0.2, 0.2, 0.8}, 2.0 / 3}, // (1.2)²/(3·0.72) = 1.44/2.16
		{nil, 1},
	}
	for _, tc := range jain {
		if got := Jain(tc.x); !near(got, tc.want) {
			t.Errorf("Jain(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

// TestAccumulator checks the run metrics on two services over two epochs,
// computed by hand. Service 0 (critical, weight 8) has cpu with p95 10;
// service 1 (batch, weight 1) has cpu with p95 10 and memory with p95 100.
func TestAccumulator(t *testing.T) {
	a := newAcc([][nr]float64{{10, 0}, {10, 100}}, [][nr]int64{{20, 200}})
	has := [][nr]bool{{true, false}, {true, true}}
	w := []float64{8, 1}
	crit := []bool{true, false}
	// epoch 1: s0 cpu a=10 u=8 (slack 2); s1 cpu a=5 u=10 (short 5), mem a=100 u=100
	served := a.epoch([][nr]int64{{10, 0}, {5, 100}}, [][nr]float64{{8, 0}, {10, 100}}, nil, has, w, crit)
	if !near(served[0], 1) || !near(served[1], 0.75) {
		t.Fatalf("served = %v, want [1 0.75]", served)
	}
	// epoch 2: s0 cpu a=6 u=8 (short 2); s1 cpu a=5 u=5, mem a=100 u=110 (short 10, OOM)
	a.epoch([][nr]int64{{6, 0}, {5, 100}}, [][nr]float64{{8, 0}, {5, 110}}, nil, has, w, crit)
	m := a.metrics()
	// normalised by p95: cpu /10, memory /100
	sumA := (10+5+6+5)/10.0 + (100+100)/100.0
	sumU := (8+10+8+5)/10.0 + (100+110)/100.0
	slack := 2 / 10.0
	short := (5+2)/10.0 + 10/100.0
	checks := []struct {
		name      string
		got, want float64
	}{
		{"slack", m.Slack, slack / sumA},
		{"shortfall", m.Shortfall, short / sumU},
		// weighted: s0 weight 8, s1 weight 1
		{"shortfall_weighted", m.ShortfallW, (8*0.2 + 1*(0.5+0.1)) / (8*1.6 + 1*(1.0+0.5+2.1))},
		{"shortfall_critical", m.ShortCritical, 0.2 / 1.6},
		{"oom_risk", m.OOMRisk, 0.5},
		{"short_intervals", m.ShortIntervals, 3.0 / 4},
		// served over cluster capacity (cpu 20, memory 200): s0 cpu (8+6)/20 ×8;
		// s1 cpu (5+5)/20, memory (100+100)/200 ×1
		{"utility", m.Utility, 8*14/20.0 + 1*(10/20.0+1.0)},
		// churn: epoch 2 vs 1: s0 |6−10|/10 = 0.4, others 0; over Σa of epoch 2 = 0.6+0.5+1
		{"churn", m.Churn, 0.4 / 2.1},
		// Jain: epoch 1 x=(1, 0.75); epoch 2 s0 0.75, s1 (1 + 100/110)/2
		{"jain", m.Jain, (Jain([]float64{1, 0.75}) + Jain([]float64{0.75, (1 + 100.0/110) / 2})) / 2},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestFitScalesDownInProportion(t *testing.T) {
	w := &World{Nodes: []string{"n1"}, Svcs: []Svc{{Has: [nr]bool{true}}, {Has: [nr]bool{true}}}}
	e := &env{w: w, eff: [][nr]int64{{100}}}
	tests := []struct {
		req  [][nr]float64
		want [2]int64
	}{
		{[][nr]float64{{30}, {50}}, [2]int64{30, 50}},
		{[][nr]float64{{150}, {50}}, [2]int64{75, 25}},
		{[][nr]float64{{-5}, {50}}, [2]int64{0, 50}},
	}
	for _, tc := range tests {
		got := e.fit(tc.req)
		if got[0][0] != tc.want[0] || got[1][0] != tc.want[1] {
			t.Errorf("fit(%v) = %v, %v; want %v", tc.req, got[0][0], got[1][0], tc.want)
		}
	}
}

func TestVPAHistogram(t *testing.T) {
	h := &decayHist{first: 10}
	for v := 1; v <= 100; v++ {
		h.add(float64(v*10), 1) // 10 … 1000, uniform
	}
	p := h.percentile(0.9)
	// the 90th sample is 900; VPA returns the end of its bucket (≤ 5% above)
	if p < 900 || p > 900*vpaBucketRatio+10 {
		t.Errorf("p90 = %v, want the end of the bucket holding 900", p)
	}
	// decay: a heavy recent sample dominates
	h2 := &decayHist{first: 10}
	h2.add(100, 1)
	h2.add(1000, 9)
	if got := h2.percentile(0.5); got < 1000 || got > 1100 {
		t.Errorf("weighted p50 = %v, want ~1000", got)
	}
}

// TestRecovery: one breach of 4 epochs on service 0; it is short in the
// first two (served 50%, then 90%) and recovered from the third, so the
// recovery takes 2 epochs = 10 minutes; breach shortfall (5+1)/(4·10).
func TestRecovery(t *testing.T) {
	w := &World{Epoch: 5 * time.Minute, Steps: 10, Breaches: []WBreach{{Svc: 0, Start: 3, Epochs: 4, Factor: 2}}}
	rc := newRecovery(w)
	has := [][nr]bool{{true}}
	inv := [][nr]float64{{1}}
	allocs := []int64{10, 10, 10, 5, 9, 10, 12, 10, 10, 10}
	for k, a := range allocs {
		rc.epoch(k, [][nr]int64{{a}}, [][nr]float64{{10}}, has, inv)
	}
	mins, short := rc.result(w)
	if !near(mins, 10) || !near(short, 6.0/40) {
		t.Errorf("recovery = %v min, breach shortfall %v; want 10 min, %v", mins, short, 6.0/40)
	}
}

// TestScoreMatchesReplay: scoring a replay's own allocations with what
// the simulator says was served (Kernel.Served) gives the replay's figures.
func TestScoreMatchesReplay(t *testing.T) {
	w, f := smallWorld(t)
	res, err := Replay(w, f, []string{PolicyStatic}, []float64{1}, ObserveDemand, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	var m Measured
	for k := 0; k < w.Steps; k++ {
		al := make([][nr]int64, len(w.Svcs))
		d := make([][nr]float64, len(w.Svcs))
		g := make([][nr]float64, len(w.Svcs))
		for s, sv := range w.Svcs {
			for r := range nr {
				if sv.Has[r] {
					al[s][r] = int64(run.Alloc[s][r][k])
					d[s][r] = sv.Demand[r][w.Warmup+k]
				}
			}
		}
		NewKernel(w, nil, run.Policy).Served(al, d, g)
		m.Alloc, m.Demand, m.Got = append(m.Alloc, al), append(m.Demand, d), append(m.Got, g)
	}
	got, err := Score(w, 1, m)
	if err != nil {
		t.Fatal(err)
	}
	want := run.Metrics
	for _, c := range []struct {
		name   string
		got, w float64
	}{{"slack", got.Slack, want.Slack}, {"shortfall", got.Shortfall, want.Shortfall}, {"weighted", got.ShortfallW, want.ShortfallW}, {"churn", got.Churn, want.Churn}, {"oom", got.OOMRisk, want.OOMRisk}} {
		if math.Abs(c.got-c.w) > 1e-9 {
			t.Errorf("%s: scored %v, replay %v", c.name, c.got, c.w)
		}
	}
	if _, err := Score(w, 1, Measured{Alloc: m.Alloc[:1]}); err == nil {
		t.Error("mismatched lengths were scored")
	}
}

// smallWorld is the example scenario cut to half a day after half a day of
// history, with its forecasts.
func smallWorld(t *testing.T) (*World, *Forecasts) {
	t.Helper()
	sc, err := LoadScenarioFile("testdata/example.hcl", "")
	if err != nil {
		t.Fatal(err)
	}
	sc.Days, sc.WarmupDays = 0.5, 0.5
	w, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := RunForecasts(w, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w, f
}

// TestShortfallSources: a shortfall is split into demand within the bid the
// solver did not grant, demand above the bid, and what the kernel took from
// an allocation that covered the demand.
func TestShortfallSources(t *testing.T) {
	cases := []struct {
		name                    string
		x, u, used              float64
		b                       bidTop
		notGranted, above, kern float64
	}{
		{"covered", 10, 8, 8, bidTop{p90: 9, top: 10}, 0, 0, 0},
		{"not granted", 6, 8, 6, bidTop{p90: 9, top: 10}, 2, 0, 0},
		{"above the bid", 10, 12, 10, bidTop{p90: 9, top: 10}, 0, 2, 0},
		{"both", 6, 12, 6, bidTop{p90: 9, top: 10}, 4, 2, 0},
		{"granted above the bid, still short", 11, 12, 11, bidTop{p90: 9, top: 10}, 0, 1, 0},
		{"oom restart", 10, 8, 6, bidTop{p90: 9, top: 10}, 0, 0, 2},
		{"cfs and not granted", 6, 8, 5.76, bidTop{p90: 9, top: 10}, 2, 0, 0.24},
	}
	for _, c := range cases {
		bd := newBreakdown()
		sh := c.u - math.Min(c.used, c.u)
		bd.add(0, "standard", "f", c.x, c.u, c.used, math.Max(0, c.x-c.used), sh, 1, &c.b)
		got := bd.short
		if math.Abs(got.NotGranted-c.notGranted) > 1e-9 || math.Abs(got.AboveBid-c.above) > 1e-9 || math.Abs(got.Kernel-c.kern) > 1e-9 {
			t.Errorf("%s: %+v, want not granted %v, above %v, kernel %v", c.name, got, c.notGranted, c.above, c.kern)
		}
	}
}

// TestSlackLostInTheKernel: an OOM restart idles part of an allocation the
// demand would have used; that slack is the kernel's, not the forecast's.
func TestSlackLostInTheKernel(t *testing.T) {
	bd := newBreakdown()
	// allocation 10, demand 8, served 6 (a restart): slack 4 = 2 kernel +
	// 1 below p90 (9) + 1 padding up to the top (10)
	bd.add(0, "standard", "f", 10, 8, 6, 4, 2, 1, &bidTop{p90: 9, top: 10})
	if got, want := bd.src, (SlackSources{Kernel: 2, Forecast: 1, Padding: 1}); got != want {
		t.Errorf("slack sources %+v, want %+v", got, want)
	}
	if bd.kernel != 2 {
		t.Errorf("kernel slack %v, want 2", bd.kernel)
	}
}

package client

import (
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/usage"
)

func histPoints(t0 time.Time, iv time.Duration, vals ...float64) []api.HistoryPoint {
	out := make([]api.HistoryPoint, len(vals))
	for i, v := range vals {
		out[i] = api.HistoryPoint{T: t0.Add(time.Duration(i) * iv), V: v}
	}
	return out
}

func TestResample(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m5 := 5 * time.Minute
	type pt struct {
		t time.Time
		v float64
	}
	cases := []struct {
		name      string
		pts       []api.HistoryPoint
		iv, epoch time.Duration
		first     time.Time
		want      []pt
	}{
		{"same interval: kept, up to half an epoch before the first observation",
			histPoints(t0, m5, 1, 2, 3, 4), m5, m5 + 2*time.Second, t0.Add(3*m5 + m5/3),
			[]pt{{t0, 1}, {t0.Add(m5), 2}, {t0.Add(2 * m5), 3}}},
		{"longer epoch: means of groups of round(epoch/interval) from the newest",
			histPoints(t0, m5, 100, 1, 2, 3, 4, 5, 6), m5, 15 * time.Minute, t0.Add(time.Hour),
			[]pt{{t0.Add(3 * m5), 2}, {t0.Add(6 * m5), 5}}},
		{"shorter epoch: one point per epoch ending one epoch before the first",
			histPoints(t0, m5, 7, 8, 9), m5, 3 * time.Second, t0.Add(24 * time.Hour),
			[]pt{{t0.Add(24*time.Hour - 9*time.Second), 7}, {t0.Add(24*time.Hour - 6*time.Second), 8}, {t0.Add(24*time.Hour - 3*time.Second), 9}}},
		{"1.2 × is still compressed onto the grid",
			histPoints(t0, m5, 7, 8), m5, 6 * time.Minute, t0,
			[]pt{{t0.Add(-12 * time.Minute), 7}, {t0.Add(-6 * time.Minute), 8}}},
		{"empty", nil, m5, m5, t0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resample(tc.pts, tc.iv, tc.epoch, tc.first)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				if !got[i].T.Equal(w.t) || got[i].V != w.v {
					t.Fatalf("point %d: %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

// TestImportedHistoryWarmsTheFirstBid: a service with an imported history
// (200 five-minute points at a clear level of 800m, noisy within ±60m)
// bids at its first epoch (1 s epochs: compressed time) near that level,
// with a spread learned from the history (a critical service: its cpu bid
// reserves the forecast's p90), although its first observation is a low
// one; a service without a history bids that first observation.
func TestImportedHistoryWarmsTheFirstBid(t *testing.T) {
	vals := make([]float64, 200)
	for i := range vals {
		vals[i] = 800 + float64((i*7919)%121-60) // deterministic noise in [-60, 60]
	}
	const first = 740.0 // low, but within the noise
	run := func(t *testing.T, withHistory bool) (p50, p90 float64, reads int) {
		f := newFakeAPI()
		if withHistory {
			f.history = map[string]api.UsageHistory{"web/n1": {Service: "web", Node: "n1", IntervalMS: 300000,
				Points: map[string][]api.HistoryPoint{"cpu": histPoints(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 5*time.Minute, vals...)}}}
		}
		web := svc("web", "a")
		web.Def.Class = bidding.ClassCritical
		rt := newFakeRuntime(web)
		start(t, f, rt, &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(first)}}, "")
		waitfor.True(t, "web registered", 5*time.Second, func() bool { return f.registered("web") })
		f.plans <- plan(1, 10, alloc("web", "n1", 500))
		waitfor.True(t, "the first bid", 5*time.Second, func() bool { return len(f.lastBids()) == 1 })
		cpu := f.lastBids()[0].Resources["cpu"]
		f.mu.Lock()
		defer f.mu.Unlock()
		return float64(cpu.P50), float64(cpu.P90), f.histReads
	}
	p50, p90, reads := run(t, true)
	t.Logf("with history: first bid p50 %v p90 %v (%d history reads)", p50, p90, reads)
	if p50 < 780 || p50 > 820 || p90 < p50+30 {
		t.Fatalf("with an imported history at 800m the first bid is p50 %v p90 %v, want p50 near 800 and the history's spread", p50, p90)
	}
	if reads != 1 {
		t.Fatalf("%d history reads for one service in one epoch, want 1", reads)
	}
	p50, _, reads = run(t, false)
	t.Logf("without: first bid p50 %v", p50)
	if p50 != first || reads != 1 {
		t.Fatalf("without a history the first bid's p50 is %v (want the first observation %v), %d reads", p50, first, reads)
	}
}

// TestFirstPartialIntervalNotObserved: a container that waited idle until
// its load started (its first interval reads 0) does not drag the warmed
// forecast down: the interval since it was first read is partial.
func TestFirstPartialIntervalNotObserved(t *testing.T) {
	vals := make([]float64, 200)
	for i := range vals {
		vals[i] = 800 + float64((i*7919)%121-60)
	}
	f := newFakeAPI()
	f.history = map[string]api.UsageHistory{"web/n1": {Service: "web", Node: "n1", IntervalMS: 300000,
		Points: map[string][]api.HistoryPoint{"cpu": histPoints(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 5*time.Minute, vals...)}}}
	rt := newFakeRuntime(svc("web", "a"))
	m := &fakeMeasure{use: map[string]usage.Usage{"a": cpuUsage(0)}}
	start(t, f, rt, m, "")
	waitfor.True(t, "web registered", 5*time.Second, func() bool { return f.registered("web") })
	f.plans <- plan(1, 10, alloc("web", "n1", 500))
	waitfor.True(t, "the first bid", 5*time.Second, func() bool { return len(f.lastBids()) == 1 })
	if p50 := f.lastBids()[0].Resources["cpu"].P50; p50 < 760 {
		t.Fatalf("first bid p50 %d after a partial idle interval, want the history's level near 800", p50)
	}
	m.set("a", cpuUsage(0)) // a whole idle interval is observed
	f.plans <- plan(2, 20, alloc("web", "n1", 500))
	waitfor.True(t, "the second bid", 5*time.Second, func() bool { b := f.lastBids(); return len(b) == 1 && b[0].Epoch == 3 })
	if p50 := f.lastBids()[0].Resources["cpu"].P50; p50 >= 760 {
		t.Fatalf("second bid p50 %d: a whole idle interval was not observed", p50)
	}
}

package sla

import (
	"math"
	"strings"
	"testing"
)

func TestPressure(t *testing.T) {
	d := DefaultThresholds()
	for _, tc := range []struct {
		name   string
		s      Signals
		breach bool
		want   []string // substrings of the reason
	}{
		{"quiet", Signals{CPUUsage: 100, CPULimit: 250, ThrottledPeriods: 0.1}, false, nil},
		{"unknown everything", Signals{}, false, nil},
		{"throttled hard", Signals{CPUUsage: 248, CPULimit: 250, ThrottledPeriods: 0.83, ThrottledRun: 2}, true, []string{"throttled hard: 83% of CFS periods at 248m of 250m, 2 epochs running"}},
		{"throttled hard for one epoch only", Signals{CPUUsage: 248, CPULimit: 250, ThrottledPeriods: 0.83, ThrottledRun: 1}, false, nil},
		{"throttled but idle (bursty)", Signals{CPUUsage: 100, CPULimit: 250, ThrottledPeriods: 0.9}, false, nil},
		{"busy but not throttled", Signals{CPUUsage: 250, CPULimit: 250, ThrottledPeriods: 0.2}, false, nil},
		{"throttled with no limit", Signals{CPUUsage: 250, ThrottledPeriods: 0.9}, false, nil},
		{"exactly at thresholds", Signals{CPUUsage: 225, CPULimit: 250, ThrottledPeriods: 0.5, ThrottledRun: 2}, true, []string{"50% of CFS periods"}},
		{"one OOM kill", Signals{OOMKills: 1}, true, []string{"OOM killed 1 time"}},
		{"failcnt", Signals{MemFailcnt: 7}, true, []string{"memory limit hit 7 times"}},
		{"high events alone are not a breach", Signals{MemHighEvents: 40}, false, nil},
		{"memory PSI", Signals{MemoryPressure: 0.12}, true, []string{"memory pressure: stalled 12% of the time (PSI some ≥ 10%)"}},
		{"memory PSI below", Signals{MemoryPressure: 0.09}, false, nil},
		{"cpu PSI", Signals{CPUPressure: 0.3}, true, []string{"cpu pressure: stalled 30%"}},
		{"cpu PSI below", Signals{CPUPressure: 0.2}, false, nil},
		{"several, most severe first", Signals{OOMKills: 2, CPUUsage: 1000, CPULimit: 1000, ThrottledPeriods: 1, ThrottledRun: 3}, true, []string{"OOM killed 2 times; throttled hard: 100%"}},
		{"NaN is unknown", Signals{CPUPressure: math.NaN(), MemoryPressure: math.NaN(), ThrottledPeriods: math.NaN(), CPUUsage: 250, CPULimit: 250}, false, nil},
		{"negative is unknown", Signals{CPUPressure: -1, MemoryPressure: -1}, false, nil},
		{"above 1 is clamped", Signals{MemoryPressure: 7}, true, []string{"stalled 100%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, r := Pressure(tc.s, d)
			if b != tc.breach {
				t.Fatalf("breach = %v (%q), want %v", b, r, tc.breach)
			}
			if !b && r != "" {
				t.Fatalf("no breach but reason %q", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r, w) {
					t.Errorf("reason %q lacks %q", r, w)
				}
			}
		})
	}
	// A zero threshold turns its check off; a set MemHighEvents turns that one on.
	if b, _ := Pressure(Signals{OOMKills: 3}, Thresholds{}); b {
		t.Error("zero thresholds breached")
	}
	if b, r := Pressure(Signals{MemHighEvents: 5}, Thresholds{MemHighEvents: 5}); !b || !strings.Contains(r, "over memory.high 5 times") {
		t.Errorf("memory.high: %v %q", b, r)
	}
}

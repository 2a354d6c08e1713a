package sla

import (
	"fmt"
	"math"
	"strings"
)

// Signals are one service's kernel signals over the last epoch, as the
// client's runtime reads them from cgroup files (cpu.stat, memory.events or
// memory.failcnt, cpu.pressure, memory.pressure). Zero means unknown or none.
type Signals struct {
	CPUUsage         int64   // millicores, mean over the epoch
	CPULimit         int64   // millicores (the CFS quota); 0: no limit
	ThrottledPeriods float64 // fraction of CFS periods throttled, 0..1
	OOMKills         uint64  // OOM kills in the epoch
	MemFailcnt       uint64  // times the memory limit was hit in the epoch (v1 memory.failcnt, v2 memory.events "max")
	MemHighEvents    uint64  // times usage went over memory.high (v2 memory.events "high")
	CPUPressure      float64 // PSI cpu "some", fraction of wall time stalled (v2 only)
	MemoryPressure   float64 // PSI memory "some", fraction of wall time stalled (v2 only)
	// ThrottledRun is how many epochs in a row, this one included, the
	// service has been throttled hard (the caller counts, with
	// ThrottledHard).
	ThrottledRun int
}

// Thresholds say when Signals are a breach. A zero field turns its check off.
type Thresholds struct {
	ThrottledPeriods float64 // breach when throttled ≥ this AND usage ≥ ThrottledUsage of the limit
	ThrottledUsage   float64 // fraction of a non-zero CPU limit
	OOMKills         uint64  // breach at this many OOM kills or more
	MemFailcnt       uint64  // breach at this many limit hits or more
	MemHighEvents    uint64  // breach at this many memory.high events or more
	CPUPressure      float64 // breach when PSI cpu some ≥ this
	MemoryPressure   float64 // breach when PSI memory some ≥ this
	// ThrottledEpochs: throttling is a breach only after this many epochs
	// in a row of it (0 or 1: at once).
	ThrottledEpochs int
}

// ThrottledHard reports whether s is throttled hard by t's measure: CFS
// throttled at least t.ThrottledPeriods of the periods while the service
// used at least t.ThrottledUsage of its limit.
func ThrottledHard(s Signals, t Thresholds) bool {
	th := frac(s.ThrottledPeriods)
	return t.ThrottledPeriods > 0 && s.CPULimit > 0 && s.CPUUsage > 0 &&
		th >= t.ThrottledPeriods && float64(s.CPUUsage) >= t.ThrottledUsage*float64(s.CPULimit)
}

// DefaultThresholds are the checks that need no configuration (DESIGN.md
// says why each is set where it is). MemHighEvents is off: Allot itself
// lowers memory.high before the hard limit, so high events are expected.
func DefaultThresholds() Thresholds {
	return Thresholds{
		ThrottledPeriods: 0.5,
		ThrottledUsage:   0.9,
		ThrottledEpochs:  2,
		OOMKills:         1,
		MemFailcnt:       1,
		CPUPressure:      0.25,
		MemoryPressure:   0.10,
	}
}

// Pressure reports whether the signals breach the thresholds, and why: every
// breached check, most severe first, joined by "; ". Out-of-range inputs
// (NaN, negative, fractions above 1) count as unknown or are clamped, never
// as a breach on their own.
func Pressure(s Signals, t Thresholds) (breach bool, reason string) {
	var r []string
	if t.OOMKills > 0 && s.OOMKills >= t.OOMKills {
		r = append(r, fmt.Sprintf("OOM killed %d %s", s.OOMKills, plural(s.OOMKills, "time", "times")))
	}
	if t.MemFailcnt > 0 && s.MemFailcnt >= t.MemFailcnt {
		r = append(r, fmt.Sprintf("memory limit hit %d %s", s.MemFailcnt, plural(s.MemFailcnt, "time", "times")))
	}
	if mp := frac(s.MemoryPressure); t.MemoryPressure > 0 && mp >= t.MemoryPressure {
		r = append(r, fmt.Sprintf("memory pressure: stalled %s of the time (PSI some ≥ %s)", pct(mp), pct(t.MemoryPressure)))
	}
	if t.MemHighEvents > 0 && s.MemHighEvents >= t.MemHighEvents {
		r = append(r, fmt.Sprintf("over memory.high %d %s", s.MemHighEvents, plural(s.MemHighEvents, "time", "times")))
	}
	if ThrottledHard(s, t) && s.ThrottledRun >= t.ThrottledEpochs {
		r = append(r, fmt.Sprintf("throttled hard: %s of CFS periods at %dm of %dm", pct(frac(s.ThrottledPeriods)), s.CPUUsage, s.CPULimit))
		if t.ThrottledEpochs > 1 {
			r[len(r)-1] += fmt.Sprintf(", %d epochs running", s.ThrottledRun)
		}
	}
	if cp := frac(s.CPUPressure); t.CPUPressure > 0 && cp >= t.CPUPressure {
		r = append(r, fmt.Sprintf("cpu pressure: stalled %s of the time (PSI some ≥ %s)", pct(cp), pct(t.CPUPressure)))
	}
	if len(r) == 0 {
		return false, ""
	}
	return true, strings.Join(r, "; ")
}

// frac clamps a fraction to [0, 1]; NaN is 0 (unknown).
func frac(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package live

import (
	"math"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/docker"
	"github.com/allot-dev/allot/sim"
)

const nr = bidding.NumResources

// Live are one policy's measured figures: the simulator's metrics computed
// on what the kernel enforced and the processes got (sim.Score), and what
// only a real run has.
type Live struct {
	sim.Metrics
	CPUThrottledS   float64 `json:"cpu_throttled_s"`            // Σ CFS throttled time of the services' containers
	OOMKills        int     `json:"oom_kills"`                  // the Engine's oom events
	OOMUnderAlloc   int     `json:"oom_kills_under_allocation"` // of those, with the trace's memory at most the limit in force
	MemoryFailcnt   int64   `json:"memory_failcnt"`             // times a container hit its memory limit
	LimitAgreement  float64 `json:"limit_agreement"`            // container-epochs whose cgroup and docker limits equal the expected ones
	LimitSamples    int     `json:"limit_samples"`              // container-epochs checked (outside injected faults)
	MissingSteps    int     `json:"missing_steps"`              // container-epochs with no loadgen line (dead, restarting)
	Restarts        int     `json:"restarts"`                   // container restarts (after an OOM kill)
	ScoredEpochs    int     `json:"scored_epochs"`
	ExcludedSamples int     `json:"excluded_samples,omitempty"` // samples of a killed client's containers during the gap
	DownSamples     int     `json:"down_samples,omitempty"`     // samples of a container restarting (no cgroup to read)
}

// measured assembles the run's per-epoch allocation (the limits the
// kernel held), demand (the trace) and usage (what loadgen got).
func (pr *policyRun) measured(w *sim.World, eff [][nr]int64, epoch time.Duration) (sim.Measured, int) {
	var m sim.Measured
	missing := 0
	for k := 0; k < w.Steps; k++ {
		st := k + leadSteps
		al := make([][nr]int64, len(w.Svcs))
		d := make([][nr]float64, len(w.Svcs))
		g := make([][nr]float64, len(w.Svcs))
		for s, sv := range w.Svcs {
			ls := pr.svcs[s]
			smp := ls.samples[st]
			line, ok := ls.lines[st]
			if !ok {
				missing++
			}
			for r := range nr {
				if !sv.Has[r] {
					continue
				}
				d[s][r] = sv.Demand[r][w.Warmup+k]
				lim := int64(-1)
				switch bidding.Resource(r) {
				case bidding.CPU:
					lim = smp.CPULimit
					if v, has := line.Got.Get(bidding.CPU); ok && has {
						// a step cut short (the process was killed and
						// restarted) used its cpu over part of the epoch only
						g[s][r] = v * 1000 * math.Min(1, line.Secs/epoch.Seconds())
					}
				case bidding.Memory:
					lim = smp.MemLimit
					if v, has := line.Got.Get(bidding.Memory); ok && has {
						g[s][r] = v
					}
				}
				if lim < 0 || lim > eff[sv.Node][r] { // no limit: the node's cgroup bounds it
					lim = eff[sv.Node][r]
				}
				al[s][r] = lim
			}
		}
		m.Alloc, m.Demand, m.Got = append(m.Alloc, al), append(m.Demand, d), append(m.Got, g)
	}
	return m, missing
}

// counters sums throttled time, failcnt and OOM kills over the window.
func (pr *policyRun) counters(w *sim.World, epoch time.Duration, lv *Live) {
	for s, ls := range pr.svcs {
		for k := 0; k < w.Steps; k++ {
			st := k + leadSteps
			cur, prev := ls.samples[st], ls.samples[st-1]
			if !cur.OK || !prev.OK {
				continue
			}
			dt, df := cur.Throttled-prev.Throttled, cur.Failcnt-prev.Failcnt
			if dt < 0 { // the container restarted: its cgroup's counters began again
				dt = cur.Throttled
			}
			if df < 0 {
				df = cur.Failcnt
			}
			lv.CPUThrottledS += float64(dt) / 1e9
			lv.MemoryFailcnt += df
		}
		start := pr.t0.Add(time.Duration(leadSteps) * epoch)
		for _, at := range ls.ooms {
			k := int(at.Sub(start) / epoch)
			if k < 0 || k >= w.Steps {
				continue
			}
			lv.OOMKills++
			if lim := ls.samples[k+leadSteps].MemLimit; w.Svcs[s].Has[bidding.Memory] && lim > 0 && w.Svcs[s].Demand[bidding.Memory][w.Warmup+k] <= float64(lim) {
				lv.OOMUnderAlloc++
			}
		}
		lv.Restarts += ls.restarted
	}
}

// expected are the limits a container should hold under allocation a:
// the Docker runtime's own rules (docker.Limits).
func expected(a bidding.Allocation, borrowing bool) (cpu, mem int64) {
	return docker.Limits(a.CPU, a.Memory, borrowing)
}

func agrees(smp sample, cpu, mem int64) bool {
	near := func(got, want, abs int64) bool {
		if want < 0 {
			return got < 0
		}
		tol := max(abs, want/100)
		return got >= 0 && math.Abs(float64(got-want)) <= float64(tol)
	}
	return smp.OK && near(smp.CPULimit, cpu, 1) && near(smp.DockerCPU, cpu, 1) && near(smp.MemLimit, mem, 4096) && near(smp.DockerMem, mem, 4096)
}

// agreement checks every evaluated sample against the allocation the
// container should hold: the plan in force or the one before it (within
// one epoch) under allot; the hand-sized levels under static.
func (pr *policyRun) agreement(w *sim.World, lv *Live, gap func(node string, st int) bool) {
	ok := 0
	for _, ls := range pr.svcs {
		for k := 0; k < w.Steps; k++ {
			st := k + leadSteps
			smp := ls.samples[st]
			if gap(ls.node, st) {
				lv.ExcludedSamples++
				continue
			}
			if !smp.OK { // restarting after an OOM kill: nothing runs to hold a limit
				lv.DownSamples++
				continue
			}
			lv.LimitSamples++
			for _, p := range pr.plans.inForce(smp.At, 500*time.Millisecond) {
				a, found := allocOf(p, ls.name)
				if !found {
					continue
				}
				if pr.static != nil {
					if v, has := pr.static[ls.name]; has {
						a.CPU, a.Memory = v[bidding.CPU], v[bidding.Memory]
					}
				}
				if c, m := expected(a, pr.borrow); agrees(smp, c, m) {
					ok++
					break
				}
			}
		}
	}
	if lv.LimitSamples > 0 {
		lv.LimitAgreement = float64(ok) / float64(lv.LimitSamples)
	}
}

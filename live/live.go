// Package live is the live experiment behind `make live`: three servers in
// containers, one client agent per "node" (a cgroup parent holding the
// node's capacity) with the Docker runtime, and a loadgen container per
// service replaying real traces one five-minute step per epoch of a few
// seconds; each policy (allot, static) runs the same window from a fresh
// cluster, and the report sets what the kernel measured beside what
// `allot sim` predicts for the same services, traces, window and
// capacities. See DESIGN.md.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
	"github.com/allot-dev/allot/sim"
)

// TolerancePP is how far (percentage points) live slack and shortfall may
// be from the simulator's prediction.
const TolerancePP = 3

// Report is live/report.json.
type Report struct {
	Minutes     float64        `json:"minutes"`
	Machine     string         `json:"machine"`
	Epoch       string         `json:"epoch"`
	TraceStep   string         `json:"trace_step"`
	Steps       int            `json:"steps"`
	LeadSteps   int            `json:"lead_steps"`
	Contention  float64        `json:"contention"`
	Nodes       []ReportNode   `json:"nodes"`
	Services    []ReportSvc    `json:"services"`
	TolerancePP float64        `json:"tolerance_pp"`
	Policies    []PolicyReport `json:"policies"`
}

// ReportNode is a node's capacity (millicores, bytes).
type ReportNode struct {
	Name     string `json:"name"`
	CPU      int64  `json:"cpu"`
	Memory   int64  `json:"memory"`
	CPUEff   int64  `json:"cpu_effective"`
	MemEff   int64  `json:"memory_effective"`
	Services int    `json:"services"`
}

// ReportSvc names a service's class, node and series.
type ReportSvc struct {
	Name   string            `json:"name"`
	Class  string            `json:"class"`
	Node   string            `json:"node"`
	Series map[string]string `json:"series"`
}

// PolicyReport is one policy live and simulated.
type PolicyReport struct {
	Name          string                 `json:"name"`
	Live          Live                   `json:"live"`
	Sim           sim.Metrics            `json:"sim"`
	LiveResources map[string]sim.Metrics `json:"live_by_resource"`
	SimResources  map[string]sim.Metrics `json:"sim_by_resource"`
	GapPP         map[string]float64     `json:"gap_pp"` // live − sim, percentage points
	WithinTol     bool                   `json:"within_tolerance"`
	Faults        []fault                `json:"faults,omitempty"`
}

// Run runs the experiment and writes o.Report; it returns the
// report (also printed as a table by the caller).
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	sc, err := sim.LoadScenarioFile(o.Scenario, "")
	if err != nil {
		return nil, err
	}
	if o.Days > 0 {
		sc.Days = o.Days
	}
	w, err := sim.Build(sc)
	if err != nil {
		return nil, err
	}
	// A trace step every o.Epoch: the prediction's clients time their looks
	// and choose what to reserve as the live clients do.
	w.ClientEpoch = o.Epoch
	if o.MemoryBorrow {
		w.Borrow = sim.BorrowOn
	}
	if o.Contention <= 0 {
		o.Contention = 1
		if len(sc.Contention) > 0 {
			o.Contention = sc.Contention[0]
		}
	}
	for _, d := range []string{o.Out, filepath.Join(o.Out, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	files, err := writeTraces(w, filepath.Join(o.Out, "traces"), time.Now())
	if err != nil {
		return nil, err
	}
	// The simulator's prediction first: it is quick, and a scenario it
	// refuses should stop the run before any container starts.
	f, err := sim.RunForecasts(w, runtime.GOMAXPROCS(0), nil)
	if err != nil {
		return nil, err
	}
	res, err := sim.Replay(w, f, o.Policies, []float64{o.Contention}, sim.ObserveDemand, o.Contention, runtime.GOMAXPROCS(0), nil)
	if err != nil {
		return nil, err
	}
	o.Log.Info("simulator's prediction ready", "policies", o.Policies, "steps", w.Steps)

	var (
		layout cgroups.Layout
		eng    *engine
	)
	if !o.Rescore {
		if layout, err = cgroups.DetectFile("/proc/self/mountinfo"); err != nil {
			return nil, err
		}
		if eng, err = newEngine(ctx); err != nil {
			return nil, err
		}
		if err := eng.cleanup(ctx); err != nil {
			return nil, err
		}
		for _, n := range staleParents(layout) {
			_ = n.remove()
		}
	}
	var names []string
	for _, s := range w.Svcs {
		names = append(names, s.Def.Name)
	}
	eff, err := w.EffectiveCapacities(o.Contention)
	if err != nil {
		return nil, err
	}
	rep := newReport(w, o, eff)
	runID := time.Now().UTC().Format("0102-150405")
	var live float64 // seconds the policies' runs took
	for _, pol := range o.Policies {
		var pr *policyRun
		if o.Rescore {
			pr, err = loadRun(filepath.Join(o.Out, pol+"-run.json"), names)
		} else {
			pr, err = runPolicy(ctx, o, w, eng, layout, runID, pol, files)
		}
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", pol, err)
		}
		if pol == baseline.Static {
			pr.static = staticLimits(w, eff, files)
		}
		var sr *sim.Run
		for _, r := range res.Runs {
			if r.Policy == pol {
				sr = r
			}
		}
		prr, err := pr.report(w, o, eff, sr)
		if err != nil {
			return nil, err
		}
		rep.Policies = append(rep.Policies, prr)
		live += pr.seconds
		rep.Minutes = time.Since(start).Minutes()
		if o.Rescore { // the live runs' wall time, not the rescoring's
			rep.Minutes = live / 60
		}
		if err := rep.write(o.Report); err != nil { // after each policy: an interrupted run keeps what it has
			return nil, err
		}
	}
	return rep, nil
}

func newReport(w *sim.World, o Options, eff [][nr]int64) *Report {
	host, _ := os.Hostname()
	rep := &Report{Machine: fmt.Sprintf("%s, %d CPUs, %s/%s", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH), Epoch: o.Epoch.String(),
		TraceStep: w.Epoch.String(), Steps: w.Steps, LeadSteps: leadSteps, Contention: o.Contention, TolerancePP: TolerancePP}
	caps := w.Capacities(o.Contention)
	for i, n := range w.Nodes {
		rn := ReportNode{Name: n, CPU: caps[i].Capacity[bidding.CPU], Memory: caps[i].Capacity[bidding.Memory], CPUEff: eff[i][bidding.CPU], MemEff: eff[i][bidding.Memory]}
		for _, s := range w.Svcs {
			if s.Node == i {
				rn.Services++
			}
		}
		rep.Nodes = append(rep.Nodes, rn)
	}
	for _, s := range w.Svcs {
		rs := ReportSvc{Name: s.Def.Name, Class: string(s.Def.Class), Node: w.Nodes[s.Node], Series: map[string]string{}}
		for r := range nr {
			if s.Has[r] {
				rs.Series[bidding.Resource(r).String()] = s.Label[r]
			}
		}
		rep.Services = append(rep.Services, rs)
	}
	return rep
}

// staticLimits are the limits a static client should enforce: the p95 of
// the imported history (the warm-up before the lead steps), fit per node.
func staticLimits(w *sim.World, eff [][nr]int64, _ map[string]svcFiles) map[string]bidding.Vec {
	out := map[string]bidding.Vec{}
	for n := range w.Nodes {
		var names []string
		var req [][nr]float64
		for _, s := range w.Svcs {
			if s.Node != n {
				continue
			}
			var q [nr]float64
			for r := range nr {
				if s.Has[r] {
					h := make([]float64, w.Warmup-leadSteps)
					for i := range h {
						h[i] = math.Round(s.Demand[r][i])
					}
					q[r] = baseline.StaticLevel(h)
				}
			}
			names, req = append(names, s.Def.Name), append(req, q)
		}
		var c [nr]float64
		for r := range nr {
			c[r] = float64(eff[n][r])
		}
		for i, v := range baseline.Fit(req, c) {
			out[names[i]] = v
		}
	}
	return out
}

// report scores one policy's live run and sets the simulator's beside it.
func (pr *policyRun) report(w *sim.World, o Options, eff [][nr]int64, sr *sim.Run) (PolicyReport, error) {
	out := PolicyReport{Name: pr.policy, Faults: pr.faults, LiveResources: map[string]sim.Metrics{}, SimResources: map[string]sim.Metrics{}, GapPP: map[string]float64{}}
	m, missing := pr.measured(w, eff, o.Epoch)
	var err error
	if out.Live.Metrics, err = sim.Score(w, o.Contention, m); err != nil {
		return out, err
	}
	out.Live.MissingSteps, out.Live.ScoredEpochs = missing, w.Steps
	pr.counters(w, o.Epoch, &out.Live)
	gap := func(node string, st int) bool {
		for _, f := range pr.faults {
			if node == w.Nodes[0] && st-leadSteps >= f.KilledStep && st-leadSteps <= f.RestartStep+2 {
				return true
			}
		}
		return false
	}
	pr.agreement(w, &out.Live, gap)
	pr.checkFaults(w)
	out.Faults = pr.faults
	if sr != nil {
		out.Sim = sr.Metrics
		sm := simMeasured(w, w.Capacities(o.Contention), sr)
		for _, r := range liveResources {
			if lm, err := sim.Score(w.Only(r), o.Contention, m); err == nil {
				out.LiveResources[r.String()] = lm
			}
			if smr, err := sim.Score(w.Only(r), o.Contention, sm); err == nil {
				out.SimResources[r.String()] = smr
			}
		}
		out.GapPP["slack"] = 100 * (out.Live.Slack - out.Sim.Slack)
		out.GapPP["shortfall"] = 100 * (out.Live.Shortfall - out.Sim.Shortfall)
		out.WithinTol = math.Abs(out.GapPP["slack"]) <= TolerancePP && math.Abs(out.GapPP["shortfall"]) <= TolerancePP
	}
	return out, nil
}

// simMeasured is a replay's recorded allocations as a measured run (got as
// the simulator models it under sr's policy, sim.Kernel, on nodes of
// capacities nodes), for per-resource scoring.
func simMeasured(w *sim.World, nodes []bidding.Node, sr *sim.Run) sim.Measured {
	var m sim.Measured
	kern := sim.NewKernel(w, nodes, sr.Policy)
	for k := 0; k < w.Steps; k++ {
		al := make([][nr]int64, len(w.Svcs))
		d := make([][nr]float64, len(w.Svcs))
		for s, sv := range w.Svcs {
			for r := range nr {
				if sv.Has[r] && sr.Alloc != nil {
					al[s][r] = int64(sr.Alloc[s][r][k])
					d[s][r] = sv.Demand[r][w.Warmup+k]
				}
			}
		}
		m.Alloc, m.Demand, m.Got = append(m.Alloc, al), append(m.Demand, d), append(m.Got, kern.Served(al, d, make([][nr]float64, len(w.Svcs))))
	}
	return m
}

// checkFaults fills in what an injected client kill did: which epochs'
// plans its node missed, and whether the containers kept their limits.
func (pr *policyRun) checkFaults(w *sim.World) {
	for i := range pr.faults {
		f := &pr.faults[i]
		f.LimitsKept = true
		for _, ls := range pr.svcs {
			if ls.node != w.Nodes[0] {
				continue
			}
			// The kill comes right after the killed step's sample, and a
			// plan the client received before it may still have been
			// applied after that sample: the reference is the first sample
			// taken with the client dead, and every later one up to the
			// restart (which follows its step's sample) must match it.
			before := ls.samples[f.KilledStep+leadSteps+1]
			for st := f.KilledStep + leadSteps + 2; st <= f.RestartStep+leadSteps; st++ {
				s := ls.samples[st]
				if s.CPULimit != before.CPULimit || s.MemLimit != before.MemLimit {
					f.LimitsKept = false
				}
			}
		}
		f.Affected = nil
		for k := f.KilledStep + 1; k <= f.RestartStep+1 && k < w.Steps; k++ {
			f.Affected = append(f.Affected, k)
		}
	}
}

func (r *Report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

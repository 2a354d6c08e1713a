package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
	"github.com/allot-dev/allot/loadgen"
	"github.com/allot-dev/allot/sim"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/api/types/events"
)

// Options are the command line of allot-live.
type Options struct {
	Scenario string        // sim scenario file (live/scenario.hcl)
	Out      string        // traces, data dirs and logs go here
	Report   string        // the JSON report (live/report.json)
	Bin      string        // the allot binary (client agents, usage import)
	Image    string        // the FROM scratch image (servers, loadgens)
	Epoch    time.Duration // one trace step per epoch
	Days     float64       // evaluated window (0: the scenario's)
	Policies []string
	Kill     bool // kill -9 one client in the middle of the allot run
	Rescore  bool // no containers: the report again from the saved runs (out/POLICY-run.json)
	// MemoryBorrow: the allot clients run with client.memory_borrow, and
	// the prediction replays it (sim.BorrowOn).
	MemoryBorrow bool
	Contention   float64
	Log          hclog.Logger
}

// liveSvc is one service's loadgen container in one policy run.
type liveSvc struct {
	idx       int
	name      string
	node      string
	class     bidding.Class
	files     svcFiles
	id        string
	rel       string // cgroup path below each hierarchy's root
	samples   map[int]sample
	lines     map[int]loadgen.Line
	ooms      []time.Time // oom events
	restarted int
}

// fault is an injected failure and what it did.
type fault struct {
	What        string `json:"what"`
	KilledStep  int    `json:"killed_step"`
	RestartStep int    `json:"restarted_step"`
	// Epochs (evaluated steps) whose plans the dead client did not apply.
	Affected []int `json:"affected_epochs"`
	// LimitsKept: every sample of the node's containers taken while its
	// client was dead showed the same limits (the last the client applied).
	LimitsKept bool `json:"limits_kept"`
}

// policyRun is one policy's live run.
type policyRun struct {
	policy  string
	borrow  bool      // its clients borrow memory (Options.MemoryBorrow): limits held are reservations
	seconds float64   // wall time of the run
	t0      time.Time // loadgen step 0 (the first lead step)
	svcs    []*liveSvc
	plans   planLog
	faults  []fault
	static  map[string]bidding.Vec // the static policy's expected limits
	mu      sync.Mutex
}

const serverPort = 7480

// runPolicy runs one policy from a fresh cluster to cleanup.
func runPolicy(ctx context.Context, o Options, w *sim.World, eng *engine, layout cgroups.Layout, runID, policy string, files map[string]svcFiles) (_ *policyRun, err error) {
	log := o.Log.Named(policy)
	began := time.Now()
	pr := &policyRun{policy: policy, borrow: o.MemoryBorrow && policy != baseline.Static}
	var agents []*agent
	var nodes []cgroupNode
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		for _, a := range agents {
			a.stop(cctx)
		}
		if cerr := eng.cleanup(cctx); cerr != nil {
			log.Warn("cleanup", "error", cerr)
		}
		for _, n := range nodes {
			if cerr := n.remove(); cerr != nil {
				log.Warn("cleanup", "error", cerr)
			}
		}
	}()
	netName := "allot-live-" + runID + "-" + policy
	sub, err := eng.network(ctx, netName, runID)
	if err != nil {
		return nil, err
	}
	base := sub.Addr().As4()
	ip := func(last byte) netip.Addr { b := base; b[3] = last; return netip.AddrFrom4(b) }
	gw := ip(1)
	servers := []netip.Addr{ip(11), ip(12), ip(13)}
	for i, sip := range servers {
		cmd := []string{"agent", "--server", "--bootstrap-expect", "3", "--node", fmt.Sprintf("server%d", i+1), "--data-dir", "/data",
			"--advertise", sip.String(), "--http-addr", fmt.Sprintf("0.0.0.0:%d", serverPort), "--epoch", o.Epoch.String()}
		for j, other := range servers {
			if j != i {
				cmd = append(cmd, "--join", other.String()+":7481")
			}
		}
		if _, err := eng.run(ctx, spec{Name: fmt.Sprintf("%s-server%d", netName, i+1), Image: o.Image, Cmd: cmd, Labels: map[string]string{labelRun: runID},
			Network: netName, IP: sip}); err != nil {
			return nil, err
		}
	}
	httpAddr := fmt.Sprintf("%s:%d", servers[0], serverPort)
	cl := api.NewClient(httpAddr, "")
	if err := until(ctx, 90*time.Second, "a leader among the three servers", func() bool {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		st, err := cl.Settings(cctx)
		return err == nil && st.EpochMS == o.Epoch.Milliseconds()
	}); err != nil {
		return nil, err
	}
	log.Info("servers up", "api", httpAddr)

	// The services, registered, and each one's earlier history imported,
	// as a user would.
	var defs strings.Builder
	for _, s := range w.Svcs {
		fmt.Fprintf(&defs, "service %q {\n  class = %q\n}\n", s.Def.Name, s.Def.Class)
	}
	svcFile := filepath.Join(o.Out, "services.hcl")
	if err := os.WriteFile(svcFile, []byte(defs.String()), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, o.Bin, "--http-addr", httpAddr, "service", "register", svcFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("allot service register: %v: %s", err, out)
	}
	for _, s := range w.Svcs {
		f := files[s.Def.Name]
		out, err := exec.CommandContext(ctx, o.Bin, "--http-addr", httpAddr, "usage", "import", "--service", s.Def.Name, "--node", w.Nodes[s.Node], f.History).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("allot usage import %s: %v: %s", s.Def.Name, err, out)
		}
	}
	log.Info("histories imported", "services", len(w.Svcs))

	// Fresh clients: a plan persisted by an earlier run would be
	// re-applied to this run's containers.
	if err := os.RemoveAll(filepath.Join(o.Out, "run", policy)); err != nil {
		return nil, err
	}
	caps := w.Capacities(o.Contention)
	for i, n := range w.Nodes {
		cn := cgroupNode{layout: layout, parent: "/allot-live-" + n}
		if err := cn.create(caps[i].Capacity); err != nil {
			return nil, err
		}
		nodes = append(nodes, cn)
		dir := filepath.Join(o.Out, "run", policy, n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		cfg := clientConfig(n, dir, gw.String(), fmt.Sprintf("127.0.0.1:%d", 17600+i), 17500+2*i, 17501+2*i, policy, o.MemoryBorrow, caps[i].Capacity)
		cfgPath := filepath.Join(o.Out, "run", policy, n+".hcl")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		a := &agent{name: n, bin: o.Bin, cfgPath: cfgPath, logPath: filepath.Join(o.Out, "logs", policy+"-"+n+".log")}
		_ = os.Remove(a.logPath) // this run's log only (a restart appends)
		for _, s := range servers {
			a.joins = append(a.joins, s.String()+":7481")
		}
		if err := a.start(); err != nil {
			return nil, err
		}
		agents = append(agents, a)
	}
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	go pr.plans.follow(fctx, cl)
	if err := until(ctx, 90*time.Second, "plans that know both nodes", func() bool {
		p, ok := pr.plans.latest()
		return ok && len(p.Nodes) == len(w.Nodes)
	}); err != nil {
		return nil, err
	}

	// The loadgens start within the epoch before t0 (their first interval
	// is partial, so the client does not observe its idle part); t0 is just
	// after a plan boundary, so plans and steps stay in phase.
	last, _ := pr.plans.latest()
	epoch := o.Epoch
	t0 := last.Created.Add(3*epoch + 100*time.Millisecond)
	pr.t0 = t0
	sleepUntil(ctx, t0.Add(-epoch+300*time.Millisecond))
	go eng.events(fctx, runID, func(m events.Message) { pr.event(m) })
	tracesDir, _ := filepath.Abs(filepath.Dir(files[w.Svcs[0].Def.Name].Trace))
	for i, s := range w.Svcs {
		ls := &liveSvc{idx: i, name: s.Def.Name, node: w.Nodes[s.Node], class: s.Def.Class, files: files[s.Def.Name], samples: map[int]sample{}, lines: map[int]loadgen.Line{}}
		cmd := []string{"loadgen", "--trace", "/traces/" + filepath.Base(ls.files.Trace), "--column", ls.files.Columns,
			"--step", epoch.String(), "--start", t0.UTC().Format(time.RFC3339Nano), "--memory-of", "cgroup"}
		parent := "/allot-live-" + ls.node
		id, err := eng.run(ctx, spec{Name: fmt.Sprintf("%s-%s", netName, s.Def.Name), Image: o.Image, Cmd: cmd, CgroupParent: parent, Restart: true,
			Binds:  []string{tracesDir + ":/traces:ro"},
			Labels: map[string]string{labelRun: runID, "allot.service": s.Def.Name, "allot.class": string(s.Def.Class), "allot.node": ls.node}})
		if err != nil {
			return nil, err
		}
		ls.id, ls.rel = id, parent+"/"+id
		pr.svcs = append(pr.svcs, ls)
	}
	log.Info("loadgens started", "containers", len(pr.svcs), "t0", t0.Format(time.RFC3339Nano), "lead_steps", leadSteps, "steps", w.Steps)

	total := leadSteps + w.Steps
	killAt, restartAt := -1, -1
	if o.Kill && policy == "allot" {
		killAt = leadSteps + w.Steps/2
		restartAt = killAt + 3
	}
	var f *fault
	for st := 0; st < total; st++ {
		at := t0.Add(time.Duration(st)*epoch + epoch*8/10)
		sleepUntil(ctx, at)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, ls := range pr.svcs {
			smp := readSample(layout, ls.rel, pr.borrow)
			if ins, err := eng.inspect(ctx, ls.id); err == nil && ins.HostConfig != nil {
				if q, p := ins.HostConfig.CPUQuota, ins.HostConfig.CPUPeriod; q > 0 && p > 0 {
					smp.DockerCPU = q * 1000 / p
				}
				m := ins.HostConfig.Memory
				if pr.borrow {
					m = ins.HostConfig.MemoryReservation
				}
				if m > 0 {
					smp.DockerMem = m
				}
			}
			ls.samples[st] = smp
		}
		switch st {
		case killAt:
			if err := agents[0].kill9(); err != nil {
				return nil, fmt.Errorf("kill -9 of client %s: %w", agents[0].name, err)
			}
			f = &fault{What: "kill -9 of client " + agents[0].name, KilledStep: st - leadSteps}
			log.Warn("fault: client killed with SIGKILL", "node", agents[0].name, "step", st-leadSteps)
		case restartAt:
			if err := agents[0].start(); err != nil {
				return nil, err
			}
			f.RestartStep = st - leadSteps
			log.Warn("fault: client restarted", "node", agents[0].name, "step", st-leadSteps)
		}
		if (st-leadSteps)%12 == 0 && st >= leadSteps {
			log.Info("progress", "policy", policy, "step", st-leadSteps, "of", w.Steps)
		}
	}
	if f != nil {
		pr.faults = append(pr.faults, *f)
	}
	sleepUntil(ctx, t0.Add(time.Duration(total)*epoch+epoch/2))
	for _, ls := range pr.svcs {
		err := eng.logs(ctx, ls.id, func(line string) {
			var l loadgen.Line
			if json.Unmarshal([]byte(strings.TrimSpace(line)), &l) == nil {
				if old, ok := ls.lines[l.Step]; !ok || l.Secs > old.Secs {
					ls.lines[l.Step] = l // a restarted step: keep its longer part
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s's loadgen lines: %w", ls.name, err)
		}
	}
	if err := pr.dump(filepath.Join(o.Out, policy+"-steps.jsonl"), total); err != nil {
		return nil, fmt.Errorf("writing the steps: %w", err)
	}
	pr.seconds = time.Since(began).Seconds()
	if err := pr.save(filepath.Join(o.Out, policy+"-run.json")); err != nil {
		return nil, fmt.Errorf("saving the run: %w", err)
	}
	return pr, nil
}

func (pr *policyRun) event(m events.Message) {
	name := m.Actor.Attributes["allot.service"]
	if name == "" {
		return
	}
	at := time.Unix(0, m.TimeNano)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for _, ls := range pr.svcs {
		if ls.name != name {
			continue
		}
		switch m.Action {
		case events.ActionOOM:
			ls.ooms = append(ls.ooms, at)
		case events.ActionRestart:
			ls.restarted++
		}
	}
}

func until(ctx context.Context, d time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %v", what, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// stepRecord is one container-epoch of a run, dumped for analysis.
type stepRecord struct {
	Step    int                 `json:"step"` // evaluated epoch (negative: lead steps)
	Service string              `json:"service"`
	Sample  sample              `json:"sample"`
	Plan    *bidding.Allocation `json:"plan,omitempty"` // the plan in force at the sample
	Asked   loadgen.Amounts     `json:"asked"`
	Got     loadgen.Amounts     `json:"got"`
	Secs    float64             `json:"secs"`
}

// dump writes every container-epoch as JSON lines.
func (pr *policyRun) dump(path string, steps int) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(fh)
	for st := 0; st < steps; st++ {
		for _, ls := range pr.svcs {
			r := stepRecord{Step: st - leadSteps, Service: ls.name, Sample: ls.samples[st]}
			if ps := pr.plans.inForce(r.Sample.At, 500*time.Millisecond); len(ps) > 0 {
				if a, ok := allocOf(ps[0], ls.name); ok {
					r.Plan = &a
				}
			}
			if l, ok := ls.lines[st]; ok {
				r.Asked, r.Got, r.Secs = l.Asked, l.Got, l.Secs
			}
			if err := enc.Encode(r); err != nil {
				fh.Close()
				return err
			}
		}
	}
	return fh.Close()
}

package kerneltest

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/internal/waitfor"
)

// The agent tests run the real agent (`allot agent --server --client`,
// one node, its own Raft and gossip on loopback) with cgroup-v1
// enforcement of config-defined services, put `allot loadgen` into a
// service's cgroup through the shim, and watch what the cluster decides
// through the typed API client.

// agentEpoch is the agents' negotiation interval unless a test asks for
// another (agentOptions.epoch): short, so that a test lasts a few tens of
// seconds, and long beside the loop's own work (a demand probe lifts a
// limit for 2.5 of its quarter-epoch windows, 1.25 s).
const agentEpoch = 2 * time.Second

// agentOptions is how a test's agent differs from the default one.
type agentOptions struct {
	client string        // more settings (HCL lines) in the client block, after cgroup_parent
	epoch  time.Duration // the negotiation interval (0: agentEpoch)
}

// agent is a running `allot agent` and what the test saw of it.
type agent struct {
	t      *testing.T
	l      enforce.Layout
	parent string // client.cgroup_parent, "/allot-kt-<pid>-<what>"
	node   string
	epoch  time.Duration // --epoch
	api    *api.Client
	log    string // the agent's stdout and stderr
	cmd    *exec.Cmd
	done   chan struct{}

	// Filled by follow: every plan the agent committed, as seen through
	// the blocking plan query, with each watched service's explanation.
	mu    sync.Mutex
	plans []seenPlan
}

// seenPlan is one committed plan as the test recorded it.
type seenPlan struct {
	Epoch uint64
	At    time.Time                      // when the test received it
	CPU   map[string]int64               // the plan's cpu per service on this node (absent: no allocation)
	IO    map[string]int64               // the plan's io (bytes/s) per service on this node
	Net   map[string]int64               // the plan's net (bits/s) per service on this node
	Exp   map[string]bidding.Explanation // GET /v1/plan/explain/{service}, when it still explained this epoch
}

// explainView is the answer of GET /v1/plan/explain/{service}.
type explainView struct {
	Service     string                `json:"service"`
	Epoch       uint64                `json:"epoch"`
	Allocations []bidding.Allocation  `json:"allocations"`
	Placements  []bidding.Explanation `json:"placements"`
}

// startAgent runs an agent whose config is client { cgroup_parent =
// "/allot-kt-<pid>-<what>" } plus the given service blocks (HCL, each
// naming its cgroup under the parent). It is stopped with SIGINT at cleanup, then
// everything under the parent is removed in every v1 hierarchy. The log
// is printed when the test failed; the lines about demand probes and boosts
// always. It returns once the first plan is committed.
func startAgent(t *testing.T, l enforce.Layout, what string, services ...string) *agent {
	t.Helper()
	return startAgentWith(t, l, what, agentOptions{}, services...)
}

// startAgentWith is startAgent with options: more client settings, another
// epoch.
func startAgentWith(t *testing.T, l enforce.Layout, what string, opt agentOptions, services ...string) *agent {
	t.Helper()
	a := &agent{t: t, l: l, parent: fmt.Sprintf("/allot-kt-%d-%s", os.Getpid(), what),
		node: fmt.Sprintf("kt-%d", os.Getpid()), epoch: cmp.Or(opt.epoch, agentEpoch), done: make(chan struct{})}
	// Registered first, so it runs last: after the loadgens and the agent stopped.
	t.Cleanup(a.removeCgroups)

	dir := t.TempDir()
	cfg := fmt.Sprintf("client {\n  cgroup_parent = %q\n%s}\n\n%s\n", a.parent, opt.client, strings.Join(services, "\n"))
	cfgPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	a.log = filepath.Join(dir, "agent.log")
	logf, err := os.Create(a.log)
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"agent", "--server", "--client", "--bootstrap-expect", "1", "--node", a.node,
		"--data-dir", filepath.Join(dir, "data"), "--bind", "127.0.0.1", "--advertise", "127.0.0.1",
		"--http-addr", httpAddr, "--gossip-port", strconv.Itoa(freePort(t)), "--raft-port", strconv.Itoa(freePort(t)),
		"--epoch", a.epoch.String(), "--enforce", "cgroup-v1", "--log-level", "debug", "--config", cfgPath}
	a.cmd = exec.Command(allotBin, args...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); logf.Close(); close(a.done) }()
	t.Cleanup(a.stop)

	a.api = api.NewClient(httpAddr, "")
	ctx, cancel := context.WithCancel(context.Background())
	var first bidding.Plan
	waitfor.True(t, "the agent's first committed plan", 30*time.Second, func() bool {
		a.alive()
		c, cc := context.WithTimeout(ctx, 2*time.Second)
		defer cc()
		p, err := a.api.WatchPlan(c, 0, time.Second)
		first = p
		return err == nil
	})
	followed := make(chan struct{})
	go func() { defer close(followed); a.follow(ctx, first) }()
	t.Cleanup(func() { cancel(); <-followed }) // runs before the agent stops
	return a
}

// alive fails the test when the agent exited.
func (a *agent) alive() {
	a.t.Helper()
	select {
	case <-a.done:
		a.t.Fatalf("the agent exited: %v", a.cmd.ProcessState)
	default:
	}
}

// stop sends SIGINT (SIGKILL after 20 s) and prints the log if the test
// failed, and the demand probe and boost lines in any case.
func (a *agent) stop() {
	t := a.t
	_ = a.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		t.Errorf("the agent did not stop within 20 s of SIGINT: killed")
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
	}
	a.checkLimitsLeft()
	b, err := os.ReadFile(a.log)
	if err != nil {
		t.Errorf("reading the agent's log: %v", err)
		return
	}
	if t.Failed() {
		t.Logf("agent log (%s):\n%s", a.log, b)
		return
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "demand probe") || strings.Contains(line, "boosted") || strings.Contains(line, "[ERROR]") {
			keep = append(keep, line)
		}
	}
	if len(keep) > 0 {
		t.Logf("agent log, demand probes and boosts:\n%s", strings.Join(keep, "\n"))
	}
}

// checkLimitsLeft logs each service whose cpu quota or blkio write limit,
// after the agent stopped, is not the last plan's grant (fail-static: the plan in force
// should stay). It only logs: an agent stopped during a demand probe's
// window leaves the lifted limit (the restore runs on the cancelled
// context), which these tests do not aim at.
func (a *agent) checkLimitsLeft() {
	ps := a.seen()
	if len(ps) == 0 {
		return
	}
	last := ps[len(ps)-1]
	for svc, grant := range last.CPU {
		dir := filepath.Join(a.l.V1.CPU, a.parent, svc)
		q, err1 := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
		p, err2 := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
		if err1 != nil || err2 != nil {
			continue
		}
		quota, _ := strconv.ParseInt(strings.TrimSpace(string(q)), 10, 64)
		period, _ := strconv.ParseInt(strings.TrimSpace(string(p)), 10, 64)
		if period <= 0 || grant <= 0 {
			continue
		}
		if m := quota * 1000 / period; quota < 0 || m < grant-1 || m > grant+1 {
			a.t.Logf("note: after the agent stopped, %s's cpu quota is %d µs per %d µs (%dm); the last plan it saw (epoch %d) grants %dm",
				svc, quota, period, quota*1000/period, last.Epoch, grant)
		}
	}
	if a.l.V1.Blkio == "" {
		return
	}
	for svc, grant := range last.IO {
		b, err := os.ReadFile(filepath.Join(a.l.V1.Blkio, a.parent, svc, "blkio.throttle.write_bps_device"))
		if err != nil || grant <= 0 {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[1] != strconv.FormatInt(grant, 10) {
				a.t.Logf("note: after the agent stopped, %s's blkio write limit is %q; the last plan it saw (epoch %d) grants %d B/s",
					svc, line, last.Epoch, grant)
			}
		}
	}
}

// removeCgroups removes everything under the parent in every v1
// hierarchy, children first (the agent made cpu, cpuacct and memory, the
// test maybe blkio). A process that just exited leaves its cgroup a moment
// later, so it tries again for a while.
func (a *agent) removeCgroups() {
	t := a.t
	var left error
	defer func() {
		if left != nil {
			t.Logf("cgroups left: %v", left)
		}
	}()
	waitfor.True(t, "the test's cgroups to be removed", 10*time.Second, func() bool {
		var errs []error
		for _, root := range a.roots() {
			top := filepath.Join(root, a.parent)
			var dirs []string
			err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			slices.SortFunc(dirs, func(x, y string) int { return strings.Count(y, "/") - strings.Count(x, "/") })
			for _, d := range dirs {
				if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
					errs = append(errs, fmt.Errorf("%s: %w", d, err))
				}
			}
		}
		left = errors.Join(errs...)
		return left == nil
	})
}

// roots are the v1 hierarchies a service's cgroup may live in.
func (a *agent) roots() []string {
	var roots []string
	for _, r := range []string{a.l.V1.CPU, a.l.V1.CPUAcct, a.l.V1.Memory, a.l.V1.Blkio} {
		if r != "" && !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	return roots
}

// cgroup makes svc's cgroup in every v1 hierarchy where the agent has
// not made it yet (logged), gives it and the parent the largest cpu weight,
// and returns the cgroup.procs files to put a process into. The agent makes
// a service's cgroup (cpu, cpuacct, memory; blkio only with io devices)
// when it enforces a plan that allocates the service, a plan allocates only
// services that bid, and the client bids only on usage it could read from
// that cgroup: an idle cgroup service never gets one, so the test (the
// service's "launcher") makes it.
func (a *agent) cgroup(svc string) []string {
	t := a.t
	t.Helper()
	var procs, made []string
	for _, r := range a.roots() {
		dir := filepath.Join(r, a.parent, svc)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			made = append(made, filepath.Base(r))
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
	}
	if len(made) > 0 {
		t.Logf("the agent had not created the cgroup of %s in %s (epoch %d in force): made by the test", svc, strings.Join(made, ", "), a.latest())
	}
	// As in TestCPUQuota: the host's other work competes with the service
	// by CFS weight, which would hold it below its limit for reasons that
	// are not the plan's. The parent and the service get the largest weight
	// (the agent never writes cpu.shares; its quota still caps them).
	for _, d := range []string{filepath.Join(a.l.V1.CPU, a.parent), filepath.Join(a.l.V1.CPU, a.parent, svc)} {
		if err := os.WriteFile(filepath.Join(d, "cpu.shares"), []byte("262144"), 0); err != nil {
			t.Fatal(err)
		}
	}
	return procs
}

// launch starts `allot loadgen args...` in svc's cgroup (made if need be)
// in every v1 hierarchy, through the shim, and stops it at cleanup (before
// the agent).
func (a *agent) launch(svc string, args ...string) *proc {
	a.t.Helper()
	procs := a.cgroup(svc)
	return start(a.t, procs, "", append([]string{"--duration", "5m"}, args...)...)
}

// follow records every committed plan until ctx ends: one blocking plan
// query at a time (the agent answers as soon as a newer plan commits),
// then the explanation of each service the plan places on this node.
func (a *agent) follow(ctx context.Context, p bidding.Plan) {
	for {
		rec := seenPlan{Epoch: p.Epoch, At: time.Now(), CPU: map[string]int64{}, IO: map[string]int64{}, Net: map[string]int64{}, Exp: map[string]bidding.Explanation{}}
		for _, al := range p.Allocations {
			if al.Node == a.node {
				rec.CPU[al.Service] = al.CPU
				rec.IO[al.Service] = al.IO
				rec.Net[al.Service] = al.Net
			}
		}
		for svc := range rec.CPU {
			var ev explainView
			if _, err := a.api.Do(ctx, "GET", "/v1/plan/explain/"+url.PathEscape(svc), nil, &ev); err != nil || ev.Epoch != p.Epoch {
				continue // a newer plan already: this one is not explained any more
			}
			for _, e := range ev.Placements {
				if e.Node == a.node {
					rec.Exp[svc] = e
				}
			}
		}
		a.mu.Lock()
		a.plans = append(a.plans, rec)
		a.mu.Unlock()
		for {
			next, err := a.api.WatchPlan(ctx, p.Index, 30*time.Second)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				a.t.Logf("following plans stopped: %v", err)
				return
			}
			if next.Index > p.Index {
				p = next
				break
			}
		}
	}
}

// seen is a copy of the plans recorded so far.
func (a *agent) seen() []seenPlan {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.plans)
}

// latest is the latest recorded plan's epoch (0 before any).
func (a *agent) latest() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.plans) == 0 {
		return 0
	}
	return a.plans[len(a.plans)-1].Epoch
}

// boost is the boost of svc the cluster holds, if any (GET /v1/boosts).
func (a *agent) boost(svc string) (bidding.Boost, bool) {
	a.t.Helper()
	var bs []bidding.Boost
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.api.Do(ctx, "GET", "/v1/boosts", nil, &bs); err != nil {
		a.t.Fatalf("listing boosts: %v", err)
	}
	for _, b := range bs {
		if b.Service == svc {
			return b, true
		}
	}
	return bidding.Boost{}, false
}

// grep returns the agent log's lines that contain every one of words.
func (a *agent) grep(words ...string) []string {
	f, err := os.Open(a.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
next:
	for sc.Scan() {
		for _, w := range words {
			if !strings.Contains(sc.Text(), w) {
				continue next
			}
		}
		out = append(out, sc.Text())
	}
	return out
}

// logLine is one line of the agent's log and its time stamp (the zero
// time when it has none).
type logLine struct {
	At   time.Time
	Text string
}

// logged is grep with each line's time stamp (hclog's, ms resolution, the
// host's clock: comparable with the test's time.Now).
func (a *agent) logged(words ...string) []logLine {
	var out []logLine
	for _, l := range a.grep(words...) {
		at, _ := time.Parse("2006-01-02T15:04:05.000Z0700", strings.SplitN(l, " ", 2)[0])
		out = append(out, logLine{At: at, Text: l})
	}
	return out
}

// needAgent skips unless root with cgroup v1 cpu and cpuacct mounted.
func needAgent(t *testing.T, what string) enforce.Layout {
	t.Helper()
	needRoot(t, what)
	l := v1Layout(t, "cpuacct")
	if l.V1.CPU == "" || l.V1.Memory == "" {
		t.Skipf("skipped: the agent's cgroup-v1 enforcement needs the v1 cpu and memory hierarchies (cpu at %q, memory at %q)", l.V1.CPU, l.V1.Memory)
	}
	return l
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// grants picks one service's grant of one resource (cpu, io or net) out of a
// seen plan: ok false where the plan has no allocation for it.
type grants func(p seenPlan) (int64, bool)

func cpuGrants(svc string) grants {
	return func(p seenPlan) (int64, bool) { g, ok := p.CPU[svc]; return g, ok }
}

func ioGrants(svc string) grants {
	return func(p seenPlan) (int64, bool) { g, ok := p.IO[svc]; return g, ok }
}

func netGrants(svc string) grants {
	return func(p seenPlan) (int64, bool) { g, ok := p.Net[svc]; return g, ok }
}

// waitFloor waits (12 epochs at most) for a plan granting floor: the idle
// service bids once its cgroup exists, and a plan grants it its floor.
func (a *agent) waitFloor(what string, g grants, floor int64) {
	a.t.Helper()
	waitfor.True(a.t, what, 12*a.epoch, func() bool {
		a.alive()
		for _, p := range a.seen() {
			if v, ok := g(p); ok && v == floor {
				return true
			}
		}
		return false
	})
}

// reference is the plan a demand test counts from: the first granting the
// floor, else the first after the load started (while startedAt was in
// force); 0 while neither has been seen.
func reference(ps []seenPlan, g grants, floor int64, startedAt uint64) (uint64, string) {
	for _, p := range ps {
		if v, ok := g(p); ok && v == floor {
			return p.Epoch, "the first plan granting the floor"
		}
	}
	for _, p := range ps {
		if p.Epoch > startedAt {
			return p.Epoch, "the first plan after loadgen started (the floor was never granted)"
		}
	}
	return 0, ""
}

// waitAfterReference waits until n plans follow the reference plan, with
// the agent and the load alive.
func (a *agent) waitAfterReference(lg *proc, g grants, floor int64, startedAt uint64, n uint64, within time.Duration) {
	a.t.Helper()
	waitfor.True(a.t, fmt.Sprintf("%d plans after the reference plan", n), within, func() bool {
		a.alive()
		lg.alive(a.t)
		e, _ := reference(a.seen(), g, floor, startedAt)
		return e > 0 && a.latest() >= e+n
	})
}

// grantsSince logs svc's grants plan by plan ("epoch:grant", "-" where a
// plan had none; show formats one) and the reference plan (reference), and
// returns the reference and the first plan from it on whose grant is
// accepted (0: none).
func (a *agent) grantsSince(svc string, g grants, floor int64, startedAt uint64, show func(p seenPlan, v int64) string, accept func(v int64) bool) (e0, reached uint64) {
	a.t.Helper()
	ps := a.seen()
	e0, why := reference(ps, g, floor, startedAt)
	var seq []string
	for _, p := range ps {
		v, ok := g(p)
		if !ok {
			seq = append(seq, fmt.Sprintf("%d:-", p.Epoch))
			continue
		}
		seq = append(seq, fmt.Sprintf("%d:%s", p.Epoch, show(p, v)))
		if reached == 0 && p.Epoch >= e0 && accept(v) {
			reached = p.Epoch
		}
	}
	a.t.Logf("grants of %s by epoch: %s", svc, strings.Join(seq, " "))
	a.t.Logf("loadgen started while epoch %d was in force; reference epoch %d (%s)", startedAt, e0, why)
	return e0, reached
}

// grantedWithin is a demand test's acceptance: a plan granted what (a
// description of the accepted grant) at reached, at most within epochs
// after the reference e0 (grantsSince). It fails the test otherwise.
func (a *agent) grantedWithin(e0, reached, within uint64, what string) bool {
	a.t.Helper()
	if reached == 0 || reached > e0+within {
		a.t.Errorf("no plan granted %s within %d epochs of epoch %d (first: %v)", what, within, e0, epochOrNone(reached))
		return false
	}
	a.t.Logf("granted %s at epoch %d: %d epochs after the reference", what, reached, reached-e0)
	return true
}

// logSteps logs, per step since from, what a loadgen (who) got of r, in
// unit (scale base units each), and the largest: the steps above 1.5 ×
// limit (marked *) are the ones under a lifted limit (a demand probe) or a
// higher grant.
//
// dips counts the steps at or under 1.5 × limit after the first above it:
// with the room lent from the first probe on (client/lend.go), a service
// let through at its demand is not held back at the floor again.
func (p *proc) logSteps(t *testing.T, who string, r bidding.Resource, from time.Time, limit float64, unit string, scale float64) (dips int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var seq []string
	var peak float64
	above := false
	for _, l := range p.lines {
		end, err := time.Parse(time.RFC3339Nano, l.T)
		if err != nil || end.Before(from) {
			continue
		}
		g, ok := l.Got.Get(r)
		if !ok {
			continue
		}
		peak = max(peak, g)
		mark := ""
		if g > 1.5*limit {
			mark, above = "*", true
		} else if above {
			dips++
		}
		seq = append(seq, fmt.Sprintf("%.1f%s", g/scale, mark))
	}
	t.Logf("%s's %s got per step, %s (* above 1.5 × the floor): %s", who, r, unit, strings.Join(seq, " "))
	t.Logf("%s's largest %s step: %.1f %s; steps back at the floor after the first above it: %d", who, r, peak/scale, unit, dips)
	return dips
}

// sample calls read every 50 ms until the returned function is called,
// which returns each change of its value as "time since the start: value".
// Diagnostic only: it shows a kernel limit lifted by each demand probe and
// put back.
func sample(t *testing.T, read func() string) func() string {
	t0 := time.Now()
	readings := sampleAt(t, read)
	return func() string {
		var changes []string
		for _, r := range readings() {
			changes = append(changes, fmt.Sprintf("%.2fs: %s", r.At.Sub(t0).Seconds(), r.V))
		}
		return strings.Join(changes, ", ")
	}
}

// reading is a value sampleAt read, and when it was first read.
type reading struct {
	At time.Time
	V  string
}

// sampleAt reads once before it returns, then calls read every 50 ms until
// the returned function is called, which returns the first reading and
// each change of its value.
func sampleAt(t *testing.T, read func() string) func() []reading {
	stop, done := make(chan struct{}), make(chan struct{})
	changes := []reading{{At: time.Now(), V: read()}}
	go func() {
		defer close(done)
		last := changes[0].V
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if v := read(); v != last {
				last = v
				changes = append(changes, reading{At: time.Now(), V: v})
			}
		}
	}()
	var once sync.Once
	end := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(end)
	return func() []reading { end(); return changes }
}

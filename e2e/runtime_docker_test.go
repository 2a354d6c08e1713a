//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/internal/waitfor"
)

// TestDockerRuntime is the acceptance of the Docker runtime (client/docker,
// docs/RUNTIMES.md): a dev agent with --docker manages this host's labelled
// loadgen containers for real.
//
//  1. Two services, <run>-crit (critical) and <run>-batch (batch), one
//     container each, each asking 1.5 cores: 3 cores on a 2-core node.
//  2. Within two epochs of the first plan that allocates both, each
//     container's CpuQuota is its allocation ×100 (period 100000), crit's
//     allocation is above batch's, and each container's CPU measured from its
//     own cgroup over 5 s is within 10% of its allocation.
//  3. A second crit replica started later is managed within one epoch (+2 s
//     for the events stream): each replica's quota is half the service's.
//  4. `allot forecast` and GET /v1/forecast show actuals beside forecasts.
//  5. The stopped batch container drops out of the bids: no bid for an
//     epoch after E+1, E being the plan in force when it stopped.
func TestDockerRuntime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the Docker runtime test reads containers' cgroups and the agent updates their limits (run as root)")
	}
	needDocker(t)

	var lastErr string // the last thing a wait saw, logged when the test fails
	defer func() {
		if t.Failed() && lastErr != "" {
			t.Logf("last observation: %s", lastErr)
		}
	}()

	run := fmt.Sprintf("rt%08x", rand.Uint32())
	crit, batch := run+"-crit", run+"-batch"
	crit1, crit2, batch1 := crit+"-1", crit+"-2", batch+"-1"
	t.Logf("run %s: services %s (critical), %s (batch)", run, crit, batch)
	warnOtherManagedContainers(t, run)

	// 1. the two loadgen containers, then the agent
	startLoadgen(t, crit1, crit, "critical")
	startLoadgen(t, batch1, batch, "batch")
	addr := startDockerDevAgent(t)
	c := api.NewClient(addr, "")

	var first bidding.Plan
	waitfor.True(t, "a plan allocating cpu to "+crit+" and "+batch, 60*time.Second, func() bool {
		p, err := planInForce(c)
		if err == nil && cpuOf(p, crit) > 0 && cpuOf(p, batch) > 0 {
			first = p
			return true
		}
		return false
	})
	first = earliestAllocating(t, c, first, crit, batch)
	epoch := dockerRuntimeEpoch(t, c)
	e0 := first.Epoch
	t.Logf("epoch %s; first plan allocating both: epoch %d: %s %dm, %s %dm; node %s",
		epoch, e0, crit, cpuOf(first, crit), batch, cpuOf(first, batch), nodeCPU(first))

	// 2. quotas follow the plan in force within two epochs
	var (
		seen   bidding.Plan
		quotas map[string]cpuQuota
	)
	waitfor.True(t, fmt.Sprintf("quotas equal to the plan's cpu allocations (by plan epoch %d)", e0+2), 3*epoch+10*time.Second, func() bool {
		p, q, err := quotasUnderOnePlan(c, crit1, batch1)
		if err != nil {
			lastErr = err.Error()
			return false
		}
		seen, quotas = p, q
		if p.Epoch > e0+2 {
			return true // too late: reported below
		}
		lastErr = quotaMismatch(p, q, map[string]string{crit1: crit, batch1: batch}, 1)
		return lastErr == ""
	})
	if seen.Epoch > e0+2 {
		t.Fatalf("plan epoch %d is in force (more than two epochs after %d) and the quotas still differ: %s", seen.Epoch, e0, lastErr)
	}
	for _, n := range []string{crit1, batch1} {
		t.Logf("plan epoch %d (%d after the first): %s CpuQuota %d CpuPeriod %d", seen.Epoch, seen.Epoch-e0, n, quotas[n].quota, quotas[n].period)
	}
	if a, b := cpuOf(seen, crit), cpuOf(seen, batch); a <= b {
		t.Errorf("plan epoch %d: the critical service's allocation %dm is not above the batch one's %dm", seen.Epoch, a, b)
	}

	// ... and each container uses what it is allocated (a 5 s window under
	// one allocation; a window the plan's allocations changed in is retried)
	cg := map[string]*containerCPU{crit1: openContainerCPU(t, crit1), batch1: openContainerCPU(t, batch1)}
	svcOf := map[string]string{crit1: crit, batch1: batch}
	var win cpuWindow
	tries := 0
	waitfor.True(t, "a 5 s window under unchanged cpu allocations, with the CPU the plan leaves free", 90*time.Second, func() bool {
		tries++
		w, err := measureWindow(c, cg, svcOf, 5*time.Second)
		if err != nil {
			t.Logf("measuring window %d: %v (retrying)", tries, err)
			lastErr = err.Error()
			return false
		}
		win = w
		return true
	})
	for _, n := range []string{crit1, batch1} {
		alloc, got := win.alloc[n], win.used[n]
		t.Logf("window plans %d..%d: %s allocated %dm, used %.0fm (%.1f%%), throttled in %d of %d periods",
			win.from, win.to, n, alloc, got, 100*got/float64(alloc), win.throttled[n], win.periods[n])
		if d := got - float64(alloc); d > 0.10*float64(alloc) || d < -0.10*float64(alloc) {
			t.Errorf("%s used %.0fm over %s, not within 10%% of its allocation %dm (throttled in %d of %d CFS periods; the host was busy %.0fm of %dm, %.0fm of it outside these two containers; steal %.0fm)",
				n, got, win.length, alloc, win.throttled[n], win.periods[n], win.hostBusy, win.hostCores*1000, win.hostBusy-win.used[crit1]-win.used[batch1], win.steal)
		}
	}
	t.Logf("host over the window: busy %.0fm of %dm, %.0fm outside the two containers, steal %.0fm (%d window(s))",
		win.hostBusy, win.hostCores*1000, win.hostBusy-win.used[crit1]-win.used[batch1], win.steal, tries)

	// 3. a second replica of crit gets half the service's allocation within one epoch
	startLoadgen(t, crit2, crit, "critical")
	started := dockerTime(t, crit2, "{{.State.StartedAt}}")
	deadline := started.Add(epoch + 2*time.Second)
	var matchedAt time.Time
	lastErr = ""
	waitfor.True(t, fmt.Sprintf("both %s replicas at half its allocation within %s of the start", crit, epoch+2*time.Second), time.Until(deadline), func() bool {
		at := time.Now()
		p, q, err := quotasUnderOnePlan(c, crit1, crit2)
		if err != nil {
			lastErr = err.Error()
			return false
		}
		seen, quotas = p, q
		lastErr = quotaMismatch(p, q, map[string]string{crit1: crit, crit2: crit}, 2)
		if lastErr == "" {
			matchedAt = at
		}
		return lastErr == ""
	})
	t.Logf("replica %s started %s; managed %s later (plan epoch %d: %s %dm; quotas %d and %d)",
		crit2, started.Format(time.RFC3339Nano), matchedAt.Sub(started).Round(time.Millisecond), seen.Epoch, crit, cpuOf(seen, crit), quotas[crit1].quota, quotas[crit2].quota)

	// 4. forecast against actual usage
	var fv api.ForecastView
	waitfor.True(t, "GET /v1/forecast/"+crit+" with cpu actuals", 3*epoch+10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var v api.ForecastView
		if _, err := c.Do(ctx, "GET", "/v1/forecast/"+crit, nil, &v); err != nil {
			return false
		}
		fv = v
		return cpuActuals(v) > 0
	})
	t.Logf("GET /v1/forecast/%s: %d cpu points with actuals; last %s", crit, cpuActuals(fv), lastCPUPoint(fv))
	out, err := runCLI(addr, "forecast", crit)
	if err != nil {
		t.Fatalf("allot forecast %s: %v\n%s", crit, err, out)
	}
	t.Logf("allot forecast %s:\n%s", crit, out)
	if row, ok := forecastCPURow(out); !ok {
		t.Errorf("allot forecast %s prints no cpu row with an actual value:\n%s", crit, out)
	} else {
		t.Logf("cpu row: %s", row)
	}

	for _, b := range bidsOf(t, c, crit) {
		q := b.Resources[bidding.CPU.String()]
		t.Logf("%s bid for epoch %d: cpu p50 %dm p90 %dm p99 %dm", crit, b.Epoch, q.P50, q.P90, q.P99)
	}

	// 5. the stopped batch container drops out of the next bids
	before, err := planInForce(c)
	if err != nil {
		t.Fatal(err)
	}
	bids := bidsOf(t, c, batch)
	t.Logf("before stopping %s: plan epoch %d; %s bids for epochs %v", batch1, before.Epoch, batch, bidEpochs(bids))
	if _, err := docker("stop", "-t", "5", batch1); err != nil {
		t.Fatal(err)
	}
	died := dockerTime(t, batch1, "{{.State.FinishedAt}}")
	after, err := planInForce(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docker("rm", "-f", batch1); err != nil {
		t.Fatal(err)
	}
	// E: the last plan committed before the container exited
	stopped := before
	for ep := before.Epoch + 1; ep <= after.Epoch; ep++ {
		p, err := planAt(c, ep)
		if err != nil {
			t.Fatal(err)
		}
		if p.Created.After(died) {
			break
		}
		stopped = p
	}
	e := stopped.Epoch
	t.Logf("%s exited %s under plan epoch %d (committed %s; epochs %d..%d around docker stop)",
		batch1, died.Format(time.RFC3339Nano), e, stopped.Created.Format(time.RFC3339Nano), before.Epoch, after.Epoch)
	var later bidding.Plan
	waitfor.True(t, fmt.Sprintf("plan epoch %d", e+3), 4*epoch+10*time.Second, func() bool {
		p, err := planInForce(c)
		later = p
		return err == nil && p.Epoch >= e+3
	})
	bids = bidsOf(t, c, batch)
	t.Logf("at plan epoch %d: %s bids for epochs %v; %s allocated %dm", later.Epoch, batch, bidEpochs(bids), batch, cpuOf(later, batch))
	for _, b := range bids {
		if b.Epoch > e+1 {
			t.Errorf("%s still bid for epoch %d after its container stopped under plan epoch %d (at most %d expected)", batch, b.Epoch, e, e+1)
		}
	}
}

// startLoadgen runs `loadgen --cpu 1.5` from the suite's image as a replica
// of service; the container is removed at the end, whatever happens.
func startLoadgen(t *testing.T, name, service, class string) {
	t.Helper()
	t.Cleanup(func() { _, _ = docker("rm", "-f", "-v", name) })
	// no health check: the image's checks an agent, and its execs would run in the container's cgroup
	if _, err := docker("run", "-d", "--name", name, "--no-healthcheck", "--label", dockerLabel+"=1",
		"--label", "allot.service="+service, "--label", "allot.class="+class, imageName, "loadgen", "--cpu", "1.5"); err != nil {
		t.Fatal(err)
	}
}

// warnOtherManagedContainers logs labelled containers of other runs: the
// dev agent manages every allot.service container of the host.
func warnOtherManagedContainers(t *testing.T, run string) {
	out, err := docker("ps", "--filter", "label=allot.service", "--format", "{{.Names}} {{.Label \"allot.service\"}}")
	if err != nil || out == "" {
		return
	}
	t.Logf("other running containers labelled allot.service share the node with this run:\n%s", out)
}

// startDockerDevAgent runs `allot agent --dev --docker` as a child process
// (log in a temp dir, printed and kept in e2e/out/ on failure), stopped
// with SIGINT at the end; it returns the HTTP address once the API answers.
func startDockerDevAgent(t *testing.T) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	logPath := filepath.Join(t.TempDir(), "agent.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The node declares 1.6 of the machine's 2 cores (as an operator
	// reserves some for the system), so what runs beside the containers —
	// the agent, dockerd, the test — has room of its own.
	cfgPath := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(`client { capacity { cpu = "1600m" } }`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(allotBin, "agent", "--dev", "--docker", "--config", cfgPath, "--http-addr", addr, "--epoch", "2s", "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); f.Close(); close(done) }()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b, _ := os.ReadFile(logPath)
		_ = os.MkdirAll("out", 0o755)
		keep := filepath.Join("out", sanitize(t.Name())+"-agent.log")
		_ = os.WriteFile(keep, b, 0o644)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 150 {
			lines = lines[len(lines)-150:]
		}
		t.Logf("agent log (last %d lines; all of it in e2e/%s):\n%s", len(lines), keep, strings.Join(lines, "\n"))
	})
	t.Cleanup(func() {
		select {
		case <-done:
			t.Errorf("the agent had already exited: %v", waitErr)
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("the agent did not stop within 15 s of SIGINT: killing it")
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
	})
	c := api.NewClient(addr, "")
	waitfor.True(t, "the dev agent's API at "+addr, 30*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("the agent exited at start: %v", waitErr)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := c.Settings(ctx)
		return err == nil
	})
	return addr
}

// dockerRuntimeEpoch is the epoch length from the replicated settings.
func dockerRuntimeEpoch(t *testing.T, c *api.Client) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.EpochMS <= 0 {
		t.Fatalf("settings: epoch_ms %d", st.EpochMS)
	}
	return time.Duration(st.EpochMS) * time.Millisecond
}

// planInForce is the latest committed plan.
func planInForce(c *api.Client) (bidding.Plan, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.WatchPlan(ctx, 0, 0)
}

// planAt is the committed plan of one epoch.
func planAt(c *api.Client, epoch uint64) (bidding.Plan, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var p bidding.Plan
	_, err := c.Do(ctx, "GET", "/v1/plan?epoch="+strconv.FormatUint(epoch, 10), nil, &p)
	return p, err
}

// earliestAllocating walks back from p to the first plan that allocates
// cpu to every one of services (the poll may have seen a later one).
func earliestAllocating(t *testing.T, c *api.Client, p bidding.Plan, services ...string) bidding.Plan {
	t.Helper()
	for p.Epoch > 1 {
		q, err := planAt(c, p.Epoch-1)
		if err != nil {
			break
		}
		for _, s := range services {
			if cpuOf(q, s) <= 0 {
				return p
			}
		}
		p = q
	}
	return p
}

// cpuOf is a service's cpu allocation (millicores) in p, over its nodes.
func cpuOf(p bidding.Plan, service string) int64 {
	var m int64
	for _, a := range p.Allocations {
		if a.Service == service {
			m += a.CPU
		}
	}
	return m
}

func nodeCPU(p bidding.Plan) string {
	var s []string
	for _, n := range p.Nodes {
		s = append(s, fmt.Sprintf("%s cpu capacity %dm", n.Node, n.Capacity[bidding.CPU]))
	}
	return strings.Join(s, ", ")
}

type cpuQuota struct{ quota, period int64 }

// quotasUnderOnePlan inspects the containers' cpu limits and the plan in
// force around it; when the plan changed meanwhile it is an error (retry).
func quotasUnderOnePlan(c *api.Client, names ...string) (bidding.Plan, map[string]cpuQuota, error) {
	p, err := planInForce(c)
	if err != nil {
		return p, nil, err
	}
	q, err := inspectQuotas(names...)
	if err != nil {
		return p, nil, err
	}
	p2, err := planInForce(c)
	if err != nil {
		return p, nil, err
	}
	if p2.Epoch != p.Epoch {
		return p, nil, fmt.Errorf("the plan changed (epoch %d to %d) while inspecting", p.Epoch, p2.Epoch)
	}
	return p, q, nil
}

func inspectQuotas(names ...string) (map[string]cpuQuota, error) {
	out, err := docker(append([]string{"inspect", "-f", "{{.Name}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}}"}, names...)...)
	if err != nil {
		return nil, err
	}
	q := map[string]cpuQuota{}
	for _, line := range strings.Split(out, "\n") {
		var name string
		var v cpuQuota
		if _, err := fmt.Sscan(line, &name, &v.quota, &v.period); err != nil {
			return nil, fmt.Errorf("docker inspect: %q: %v", line, err)
		}
		q[strings.TrimPrefix(name, "/")] = v
	}
	return q, nil
}

// quotaMismatch says how the containers' quotas differ from their service's
// allocation in p split among replicas containers ("" when each is
// allocation×100/replicas within one millicore, period 100000).
func quotaMismatch(p bidding.Plan, q map[string]cpuQuota, service map[string]string, replicas int64) string {
	var bad []string
	for _, n := range slices.Sorted(maps.Keys(service)) {
		alloc := cpuOf(p, service[n])
		want := alloc * 100 / replicas
		got, ok := q[n]
		d := got.quota - want
		if !ok || got.period != 100000 || d > 100 || d < -100 || alloc == 0 {
			bad = append(bad, fmt.Sprintf("%s: CpuQuota %d CpuPeriod %d, want %d/100000 (%s %dm / %d)", n, got.quota, got.period, want, service[n], alloc, replicas))
		}
	}
	if len(bad) > 0 {
		return fmt.Sprintf("plan epoch %d: %s", p.Epoch, strings.Join(bad, "; "))
	}
	return ""
}

// dockerTime is a time field of the container's inspect output (format: a Go template).
func dockerTime(t *testing.T, name, format string) time.Time {
	t.Helper()
	out, err := docker("inspect", "-f", format, name)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339Nano, out)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

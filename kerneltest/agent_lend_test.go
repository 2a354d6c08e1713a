package kerneltest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/internal/waitfor"
)

// TestAgentLendWithinEpoch: a burst that starts mid-epoch is served within
// that epoch, before any new plan (client/tick.go). A service is held at
// its 100m cpu floor on a node with room, as in TestAgentDemandUnderLimit,
// but under a 10 s epoch: between epoch steps the client looks every 2.5 s
// (bidrule.LendEvery), and a probe takes 2.5 windows of 1 s
// (bidrule.ProbeWindow). loadgen starts asking 1.5 cores right after a plan
// granting the floor is seen, so that plan's epoch step measured the idle
// interval before it, and the next plan is nearly an epoch away. Before the
// next plan is enforced:
//   - the agent logs a "lent room" of cpu to the service, by=look, lent to ≥ 1000m,
//     no sooner than a look's lend can come: LendEvery after the plan was
//     enforced, and a probe's 2.5 windows after that (an epoch step's lend
//     comes at the end of its own step, 2.5 windows at most when it probes);
//   - the cpu quota (cpu.cfs_quota_us, sampled every 50 ms) is ≥ 1000m from
//     that lend until the next plan (each a sampling period or two
//     inside): lent, not a probe's lift put back;
//   - loadgen gets ≥ 1 core on average over its steps from the lend to the
//     next plan, where the floor would give it 0.1.
func TestAgentLendWithinEpoch(t *testing.T) {
	l := needAgent(t, "an agent enforcing cgroup v1")
	const (
		epoch = 10 * time.Second
		floor = 100  // m
		lent  = 1000 // m: the least quota, and loadgen's least mean, counted as served
	)
	a := startAgentWith(t, l, "lend", agentOptions{epoch: epoch}, `service "burst" {
  class  = "standard"
  cgroup = "burst"
  min { cpu = "100m" }
}`)
	a.cgroup("burst")
	a.waitFloor("a plan granting burst its floor", cpuGrants("burst"), floor)
	// Start the burst just after a plan: the next one is nearly an epoch away.
	e := a.latest()
	waitfor.True(t, "the next plan", 2*epoch, func() bool { a.alive(); return a.latest() > e })
	quotas := sampleAt(t, cpuQuota(filepath.Join(l.V1.CPU, a.parent, "burst")))
	lg := a.launch("burst", "--cpu", "1.5", "--step", "500ms")
	launched := time.Now()
	var cur, next seenPlan // the plan in force when loadgen started, and the next
	for _, p := range a.seen() {
		if !p.At.After(launched) {
			cur = p
		}
	}
	waitfor.True(t, "two plans after loadgen started", 3*epoch, func() bool {
		a.alive()
		lg.alive(t)
		return a.latest() >= cur.Epoch+2 // the second only to log what follows the first
	})
	qs := quotas()
	for _, p := range a.seen() {
		if p.At.After(launched) && next.At.IsZero() {
			next = p
		}
	}
	since := func(at time.Time) string { return fmt.Sprintf("%+.2fs", at.Sub(launched).Seconds()) }

	// What happened, in time since loadgen started.
	var plans []string
	for _, p := range a.seen() {
		if p.Epoch >= cur.Epoch-1 {
			plans = append(plans, fmt.Sprintf("epoch %d seen at %s grants %dm", p.Epoch, since(p.At), p.CPU["burst"]))
		}
	}
	t.Logf("plans: %s", strings.Join(plans, "; "))
	enforced := map[uint64]time.Time{}
	for _, p := range a.seen() {
		if ls := a.logged("enforced plan", fmt.Sprintf("epoch=%d ", p.Epoch)); len(ls) > 0 && p.Epoch >= cur.Epoch {
			enforced[p.Epoch] = ls[0].At
			t.Logf("the agent enforced epoch %d at %s", p.Epoch, since(ls[0].At))
		}
	}
	var qseq []string
	for _, q := range qs {
		qseq = append(qseq, since(q.At)+": "+q.V)
	}
	t.Logf("burst's cpu quota: %s", strings.Join(qseq, ", "))
	var steps []string
	for _, s := range lg.steps(bidding.CPU) {
		steps = append(steps, fmt.Sprintf("%s: %.2f", since(s.end), s.got))
	}
	t.Logf("loadgen's cpu got per 500 ms step, cores (at the step's end): %s", strings.Join(steps, " "))
	lends := a.logged("lent room", "service=burst", "resource=cpu")
	for _, ln := range a.logged("service=burst") {
		if strings.Contains(ln.Text, "lent room") || strings.Contains(ln.Text, "demand probe") {
			t.Logf("%s: %s", since(ln.At), ln.Text)
		}
	}

	// The premise: the burst started under a plan granting the floor, and
	// the agent enforced that plan (its epoch step measured) before, or so
	// little after that its step saw no burst (100 ms of a 10 s interval).
	if g := cur.CPU["burst"]; g != floor {
		t.Fatalf("loadgen started while epoch %d was in force, which grants burst %dm, not its %dm floor", cur.Epoch, g, floor)
	}
	at, ok := enforced[cur.Epoch]
	if !ok || at.After(launched.Add(100*time.Millisecond)) {
		t.Fatalf("the agent's log shows no enforcement of epoch %d by loadgen's start (%v)", cur.Epoch, at)
	}
	if q := inForce(qs, launched); q != floor {
		t.Errorf("burst's quota when loadgen started is %dm, want the floor %dm", q, floor)
	}
	// The window: until the next plan, as the test saw it or the agent
	// enforced it, whichever came first, less a sampling period.
	end := next.At
	if e, ok := enforced[next.Epoch]; ok && e.Before(end) {
		end = e
	}
	end = end.Add(-100 * time.Millisecond)
	earliest := at.Add(bidrule.LendEvery(epoch) + bidrule.ProbeWindow(epoch)*5/2 - 10*time.Millisecond) // a look's lend, at the soonest
	var first *logLine
	for i, ln := range lends {
		if ln.At.After(launched) && ln.At.Before(end) {
			first = &lends[i]
			break
		}
	}
	if first == nil {
		t.Fatalf("the agent lent burst no cpu between loadgen's start and the next plan (epoch %d at %s)", next.Epoch, since(end))
	}
	to := lentTo(first.Text)
	t.Logf("first lend within epoch %d: at %s to %dm (a look's lend is no sooner than %s; the next plan at %s)", cur.Epoch, since(first.At), to, since(earliest), since(end))
	if first.At.Before(earliest) {
		t.Errorf("the first lend at %s came before a look could have made it (%s): the epoch step's, not a look's", since(first.At), since(earliest))
	}
	if !strings.Contains(first.Text, "by=look") {
		t.Errorf("the first lend within the epoch is not logged as a look's (by=look): %s", first.Text)
	}
	if to < lent {
		t.Errorf("the look lent burst's cpu to %dm, want ≥ %dm", to, lent)
	}
	// From a sampling period after the lend was logged (the probe put the
	// floor back a moment before the lend raised it).
	from := first.At.Add(100 * time.Millisecond)
	low := inForce(qs, from)
	for _, q := range qs {
		if q.At.After(from) && q.At.Before(end) {
			low = min(low, quotaM(q.V))
		}
	}
	t.Logf("burst's least quota from the lend to the next plan: %dm", low)
	if low < lent {
		t.Errorf("burst's quota fell to %dm between the lend and the next plan: want ≥ %dm (the lend in force until the plan)", low, lent)
	}
	_, got, n := lg.window(t, bidding.CPU, first.At, end)
	t.Logf("loadgen got %.2f cores on average over its %d steps from the lend to the next plan", got, n)
	if got < lent/1000.0 {
		t.Errorf("loadgen got %.2f cores between the lend and the next plan, want ≥ %.1f", got, lent/1000.0)
	}
}

// inForce is the quota (millicores) read last at or before at (-1: none
// read yet).
func inForce(qs []reading, at time.Time) int64 {
	v := int64(-1)
	for _, q := range qs {
		if q.At.After(at) {
			break
		}
		v = quotaM(q.V)
	}
	return v
}

// quotaM is a cpuQuota reading in millicores (-1: none, or not a number).
func quotaM(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSuffix(v, "m"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

var lentToRe = regexp.MustCompile(`lent_to=(\d+)`)

// lentTo is the lent_to of a "lent room" log line (-1: none).
func lentTo(line string) int64 {
	m := lentToRe.FindStringSubmatch(line)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// step is one loadgen step's end and what it got of a resource.
type step struct {
	end time.Time
	got float64
}

// steps is what loadgen got of r per step.
func (p *proc) steps(r bidding.Resource) []step {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []step
	for _, l := range p.lines {
		end, err := time.Parse(time.RFC3339Nano, l.T)
		if g, ok := l.Got.Get(r); ok && err == nil {
			out = append(out, step{end: end, got: g})
		}
	}
	return out
}

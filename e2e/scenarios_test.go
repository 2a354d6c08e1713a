//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// parted reports whether the node is cut off (Docker clusters only).
func parted(c Cluster, name string) bool {
	if p, ok := c.(interface{ Parted(string) bool }); ok {
		return p.Parted(name)
	}
	return false
}

// failoverSample is one leader kill: how long until a new leader was
// reported by a surviving server and until a plan created after the kill was
// readable there.
type failoverSample struct {
	Leader     time.Duration `json:"new_leader_ns"`
	NextPlan   time.Duration `json:"next_plan_ns"`
	OldLeader  string        `json:"old_leader"`
	NewLeader  string        `json:"new_leader"`
	PlanEpoch  uint64        `json:"plan_epoch"`
	KillMethod string        `json:"kill"`
	KillCmd    time.Duration `json:"kill_command_ns"`
}

// killLeaderOnce kill -9s the leader and measures the failover.
func killLeaderOnce(t *testing.T, c Cluster) failoverSample {
	t.Helper()
	old := waitLeader(t, c, 30*time.Second)
	waitVoters(t, c, 3, 30*time.Second)
	survivors := others(upServers(c), old)
	var (
		mu        sync.Mutex
		s         = failoverSample{OldLeader: old, KillMethod: "SIGKILL"}
		gotLeader bool
		gotPlan   bool
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The clock starts when the leader's process died: for a container,
	// the exit time Docker recorded (docker kill itself takes up to a
	// second on this host, which is not failover time; it is reported
	// separately), for a process, when kill returned (it waits for the exit).
	k0 := time.Now()
	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.KillCmd = start.Sub(k0)
	if d, ok := c.(interface {
		DiedAt(string) (time.Time, error)
	}); ok {
		died, err := d.DiedAt(old)
		if err != nil {
			t.Fatal(err)
		}
		start = died
	}
	var wg sync.WaitGroup
	for _, sv := range survivors {
		wg.Add(1)
		go func(sv string) {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				done := gotLeader && gotPlan
				needLeader := !gotLeader
				mu.Unlock()
				if done {
					return
				}
				if needLeader {
					if l := leaderOf(c, sv); l != "" && l != old {
						mu.Lock()
						if !gotLeader {
							gotLeader, s.Leader, s.NewLeader = true, time.Since(start), l
						}
						mu.Unlock()
					}
				}
				if p, err := latestPlan(c, sv); err == nil && p.Created.After(start) {
					mu.Lock()
					if !gotPlan {
						gotPlan, s.NextPlan, s.PlanEpoch = true, time.Since(start), p.Epoch
					}
					mu.Unlock()
				}
				time.Sleep(10 * time.Millisecond)
			}
		}(sv)
	}
	wg.Wait()
	if !gotLeader || !gotPlan {
		t.Fatalf("after killing leader %s: new leader found=%v, next plan found=%v within 30 s\n%s", old, gotLeader, gotPlan, tails(c))
	}
	t.Logf("killed leader %s (kill command %s): new leader %s after %s, next plan (epoch %d) after %s", old, s.KillCmd.Round(time.Millisecond), s.NewLeader, s.Leader.Round(time.Millisecond), s.PlanEpoch, s.NextPlan.Round(time.Millisecond))
	return s
}

// scenarioKillLeader kills the leader rounds times under load, restarting it
// each time, and checks the history.
func scenarioKillLeader(t *testing.T, c Cluster, rounds int, report string) {
	setup(t, c)
	rec := newRecorder()
	load := startLoad(t, c, rec, 1)
	var samples []failoverSample
	for i := 0; i < rounds; i++ {
		time.Sleep(1500 * time.Millisecond)
		s := killLeaderOnce(t, c)
		samples = append(samples, s)
		if err := c.Start(s.OldLeader); err != nil {
			t.Fatal(err)
		}
		waitLeader(t, c, 30*time.Second)
		waitVoters(t, c, 3, 30*time.Second)
		waitCaughtUp(t, c, s.OldLeader, 30*time.Second)
	}
	load.finish(t)
	writeFailover(t, report, samples)
}

// waitCaughtUp waits until name serves the plan the leader has now.
func waitCaughtUp(t testing.TB, c Cluster, name string, timeout time.Duration) {
	t.Helper()
	l := waitLeader(t, c, timeout)
	p, err := latestPlan(c, l)
	if err != nil {
		t.Fatalf("leader %s: %v", l, err)
	}
	end := time.Now().Add(timeout)
	for {
		q, err := latestPlan(c, name)
		if err == nil && q.Epoch >= p.Epoch {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s did not catch up to epoch %d within %s (%+v, %v)\n%s", name, p.Epoch, timeout, q, err, tails(c))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stats(ds []time.Duration) (median, max time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n == 0 {
		return 0, 0
	}
	if n%2 == 1 {
		median = s[n/2]
	} else {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[n-1]
}

func writeFailover(t *testing.T, name string, samples []failoverSample) {
	var ls, ps []time.Duration
	for _, s := range samples {
		ls = append(ls, s.Leader)
		ps = append(ps, s.NextPlan)
	}
	lm, lx := stats(ls)
	pm, px := stats(ps)
	hb, el := envOr("E2E_RAFT_HEARTBEAT", "500ms"), envOr("E2E_RAFT_ELECTION", "500ms")
	line := fmt.Sprintf("%s: %d kills, epoch 1s, heartbeat %s, election %s: new leader median %s max %s; next plan median %s max %s",
		name, len(samples), hb, el, lm.Round(time.Millisecond), lx.Round(time.Millisecond), pm.Round(time.Millisecond), px.Round(time.Millisecond))
	t.Log(line)
	_ = os.MkdirAll("out", 0o755)
	b, _ := json.MarshalIndent(map[string]any{"summary": line, "samples": samples, "at": time.Now().UTC()}, "", "  ")
	_ = os.WriteFile(filepath.Join("out", "failover-"+name+".json"), b, 0o644)
	// The target is the next plan within 2 s of the kill. The median must
	// meet it; a single slow kill (a busy CI host) is reported, and fails
	// the test only past 3 s, so that the suite is not flaky.
	if pm > 2*time.Second || px > 3*time.Second {
		t.Errorf("next plan after a leader kill: median %s, max %s (target: within 2 s)", pm, px)
	} else if px > 2*time.Second {
		t.Logf("WARNING: the slowest kill took %s to the next plan (target 2 s)", px)
	}
}

func rounds() int {
	n := 5
	if v := os.Getenv("E2E_FAILOVER_RUNS"); v != "" {
		fmt.Sscan(v, &n)
	}
	return n
}

func TestProcKillLeader(t *testing.T) {
	c := newProcCluster(t, 2)
	scenarioKillLeader(t, c, rounds(), "processes")
}

func TestDockerKillLeader(t *testing.T) {
	c := dockerFor(t)
	scenarioKillLeader(t, c, rounds(), "containers")
}

// scenarioRollingRestart restarts each server in turn (SIGTERM, then start
// on the same data) under load.
func scenarioRollingRestart(t *testing.T, c Cluster) {
	setup(t, c)
	rec := newRecorder()
	load := startLoad(t, c, rec, 2)
	for _, s := range c.Servers() {
		time.Sleep(time.Second)
		if err := c.Stop(s); err != nil {
			t.Fatal(err)
		}
		waitLeader(t, c, 30*time.Second)
		time.Sleep(500 * time.Millisecond)
		if err := c.Start(s); err != nil {
			t.Fatal(err)
		}
		waitLeader(t, c, 30*time.Second)
		waitVoters(t, c, 3, 30*time.Second)
		waitCaughtUp(t, c, s, 30*time.Second)
		t.Logf("restarted %s", s)
	}
	load.finish(t)
}

func TestProcRollingRestart(t *testing.T) {
	scenarioRollingRestart(t, newProcCluster(t, 2))
}

func TestDockerRollingRestart(t *testing.T) {
	scenarioRollingRestart(t, dockerFor(t))
}

// TestDockerPartitionLeader cuts the leader off the cluster network: the
// majority elects a new leader and keeps committing; the old leader refuses
// writes and consistent reads; once healed it follows with the majority's history.
func TestDockerPartitionLeader(t *testing.T) {
	c := dockerFor(t)
	setup(t, c)
	rec := newRecorder()
	load := startLoadN(t, c, rec, 3, 16)
	time.Sleep(2 * time.Second)
	old := waitLeader(t, c, 30*time.Second)
	cut := time.Now()
	if err := c.Partition(old); err != nil {
		t.Fatal(err)
	}
	majority := others(c.Servers(), old)
	// the majority elects a leader and commits plans
	var nl string
	end := time.Now().Add(15 * time.Second)
	for nl == "" || nl == old {
		if time.Now().After(end) {
			t.Fatalf("majority elected no new leader within 15 s\n%s", tails(c))
		}
		time.Sleep(50 * time.Millisecond)
		nl = leaderOf(c, majority[0])
	}
	t.Logf("partitioned %s; majority elected %s after %s", old, nl, time.Since(cut).Round(time.Millisecond))
	var before planOut
	for end := time.Now().Add(10 * time.Second); ; {
		p, err := latestPlan(c, nl)
		if err == nil && p.Created.After(cut) {
			before = p
			break
		}
		if time.Now().After(end) {
			t.Fatalf("majority committed no plan within 10 s of the partition\n%s", tails(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// the old leader refuses writes and consistent reads (bounded answers)
	k := bidKey{testServices[0], c.Clients()[0], load.keys[0].Epoch}
	ctx := context.Background()
	t0 := time.Now()
	code, body, _, err := callWith(slowc, ctx, "PUT", c.HTTP(old), "/v1/bids", bidBody(k, 1))
	if err == nil && code == 200 {
		t.Errorf("old leader %s accepted a write while cut off: %s", old, body)
	} else {
		t.Logf("old leader refused a write after %s: %d %s %v", time.Since(t0).Round(time.Millisecond), code, strings.Join(strings.Fields(string(body)), " "), err)
	}
	t0 = time.Now()
	code, body, _, err = callWith(slowc, ctx, "GET", c.HTTP(old), "/v1/plan?consistent", nil)
	if err == nil && code == 200 {
		t.Errorf("old leader %s answered a consistent read while cut off: %s", old, body)
	} else {
		t.Logf("old leader refused a consistent read after %s: %d %s %v", time.Since(t0).Round(time.Millisecond), code, strings.Join(strings.Fields(string(body)), " "), err)
	}
	// a default (stale) read still answers, from its own state
	var stale planOut
	if err := getJSON(c.HTTP(old), "/v1/plan", &stale); err == nil {
		t.Logf("old leader's stale read: epoch %d (majority at %d or later)", stale.Epoch, before.Epoch)
	}
	time.Sleep(3 * time.Second)
	if err := c.Heal(old); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	l := waitLeader(t, c, 30*time.Second)
	waitVoters(t, c, 3, 30*time.Second)
	waitCaughtUp(t, c, old, 30*time.Second)
	t.Logf("healed %s: leader %s, %s caught up %s after the heal", old, l, old, time.Since(healed).Round(time.Millisecond))
	load.finish(t)
}

func withTimeout(ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	go func() { <-ctx.Done(); cancel() }()
	return ctx
}

// TestDockerNewIP recreates a server's container with a new IP on its old
// data volume: same node ID, new address; the leader replaces its entry.
func TestDockerNewIP(t *testing.T) {
	c := dockerFor(t)
	setup(t, c)
	rec := newRecorder()
	load := startLoad(t, c, rec, 4)
	for _, which := range []string{"follower", "leader"} {
		time.Sleep(1500 * time.Millisecond)
		l := waitLeader(t, c, 30*time.Second)
		victim := l
		if which == "follower" {
			victim = others(c.Servers(), l)[0]
		}
		oldAddr := c.nodes[victim].ip
		if err := c.RecreateNewIP(victim); err != nil {
			t.Fatal(err)
		}
		newAddr := c.nodes[victim].ip
		end := time.Now().Add(45 * time.Second)
		for {
			ps := waitVoters(t, c, 3, 30*time.Second)
			ok := false
			for _, p := range ps {
				if p.Name == victim && strings.HasPrefix(p.Address, newAddr+":") && p.Voter {
					ok = true
				}
			}
			if ok {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%s (%s) never replaced %s in the raft configuration: %+v\n%s", victim, newAddr, oldAddr, ps, tails(c))
			}
			time.Sleep(200 * time.Millisecond)
		}
		waitCaughtUp(t, c, victim, 30*time.Second)
		t.Logf("%s %s moved %s -> %s: same ID, entry replaced, caught up", which, victim, oldAddr, newAddr)
	}
	load.finish(t)
}

// scenarioClientRestart kills a client with SIGKILL and starts it again.
func scenarioClientRestart(t *testing.T, c Cluster) {
	setup(t, c)
	rec := newRecorder()
	load := startLoad(t, c, rec, 5)
	cl := c.Clients()[0]
	time.Sleep(3 * time.Second)
	persisted, perr := c.DataFile(cl, "client/plan.json")
	if err := c.Kill(cl); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := c.Start(cl); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	defer func() {
		t.Logf("client %s back %s after its restart", cl, time.Since(restarted).Round(time.Millisecond))
	}()
	// back in gossip as alive, and its API answers (forwarded to a server)
	end := time.Now().Add(30 * time.Second)
	for {
		var ms []struct{ Name, Status string }
		l := waitLeader(t, c, 10*time.Second)
		alive := false
		if err := getJSON(c.HTTP(l), "/v1/agent/members", &ms); err == nil {
			for _, m := range ms {
				alive = alive || (m.Name == cl && m.Status == "alive")
			}
		}
		var p planOut
		if alive && getJSON(c.HTTP(cl), "/v1/plan", &p) == nil && p.Epoch > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("restarted client %s is not back within 30 s\n%s", cl, tails(c))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if perr == nil {
		var before planOut
		_ = json.Unmarshal(persisted, &before)
		if !strings.Contains(c.Logs(cl), "persisted plan") {
			t.Errorf("client %s had a persisted plan (epoch %d) but did not resume from it", cl, before.Epoch)
		} else {
			t.Logf("client %s resumed from its persisted plan of epoch %d", cl, before.Epoch)
		}
	} else {
		t.Logf("client %s persisted no plan before the kill (%v): the resume check is skipped", cl, perr)
	}
	load.finish(t)
}

func TestProcClientRestart(t *testing.T)   { scenarioClientRestart(t, newProcCluster(t, 2)) }
func TestDockerClientRestart(t *testing.T) { scenarioClientRestart(t, dockerFor(t)) }

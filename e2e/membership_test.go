//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cli runs the allot CLI against a node; it returns stdout+stderr, the exit code and the time taken.
func cli(c Cluster, node string, args ...string) (string, int, time.Duration) {
	start := time.Now()
	cmd := exec.Command(allotBin, append([]string{"--http-addr", c.HTTP(node)}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return strings.TrimSpace(out.String()), code, time.Since(start)
}

func voterNames(ps []peer) string {
	var n []string
	for _, p := range ps {
		if p.Voter {
			n = append(n, p.Name)
		}
	}
	return strings.Join(n, ",")
}

// TestProcLeaveAndRejoin: `allot leave` on a follower and then on the
// leader removes each from Raft (the leader hands over first) and the agent
// exits; started again on its data, each is re-added as a non-voter and
// promoted after the stabilization time.
func TestProcLeaveAndRejoin(t *testing.T) {
	c := newProcCluster(t, 1)
	setup(t, c)
	rec := newRecorder()
	load := startLoad(t, c, rec, 6)
	for _, which := range []string{"follower", "leader"} {
		l := waitLeader(t, c, 30*time.Second)
		waitVoters(t, c, 3, 30*time.Second)
		s := l
		if which == "follower" {
			s = others(c.Servers(), l)[0]
		}
		out, code, took := cli(c, s, "leave")
		if code != 0 {
			t.Fatalf("allot leave on %s %s: exit %d: %s\n%s", which, s, code, out, tails(c))
		}
		t.Logf("allot leave on %s %s: %q in %s", which, s, out, took.Round(time.Millisecond))
		// the agent exits by itself
		end := time.Now().Add(15 * time.Second)
		for c.Up(s) {
			if time.Now().After(end) {
				t.Fatalf("%s did not exit after leave", s)
			}
			time.Sleep(100 * time.Millisecond)
		}
		ps := waitVoters(t, c, 2, 20*time.Second)
		for _, p := range ps {
			if p.Name == s {
				t.Fatalf("%s still in raft after leave: %+v", s, ps)
			}
		}
		t.Logf("after leave: voters %s", voterNames(ps))
		must(t, c.Start(s))
		ps = waitVoters(t, c, 3, 30*time.Second)
		t.Logf("%s re-added and promoted: voters %s", s, voterNames(ps))
	}
	load.finish(t)
}

// TestProcPeersJSONRecovery: two of three servers are lost for good; the
// survivor is restarted with DATA_DIR/raft/peers.json naming only itself,
// leads alone with all committed state, and two fresh servers then join.
func TestProcPeersJSONRecovery(t *testing.T) {
	c := newProcCluster(t, 1)
	setup(t, c)
	rec := newRecorder()
	load := startLoad(t, c, rec, 7)
	time.Sleep(3 * time.Second)
	load.Stop()
	survivor := "s1"
	var before planOut
	var err error
	if before, err = latestPlan(c, survivor); err != nil {
		t.Fatal(err)
	}
	must(t, c.Kill("s2"))
	must(t, c.Kill("s3"))
	time.Sleep(2 * time.Second)
	if code, _, _, err := call(withTimeout(t.Context(), 10*time.Second), "PUT", c.HTTP(survivor), "/v1/service/lost", map[string]any{"class": "batch"}); err == nil && code == 200 {
		t.Fatalf("a write succeeded without quorum")
	}
	must(t, c.Kill(survivor))
	pc := c
	n := pc.node[survivor]
	id, err := os.ReadFile(filepath.Join(n.dataDir, "node-id"))
	if err != nil {
		t.Fatal(err)
	}
	peers := fmt.Sprintf(`[{"id": %q, "address": "127.0.0.1:%d", "non_voter": false}]`, strings.TrimSpace(string(id)), n.raft)
	must(t, os.WriteFile(filepath.Join(n.dataDir, "raft", "peers.json"), []byte(peers), 0o600))
	must(t, c.Start(survivor))
	end := time.Now().Add(30 * time.Second)
	for leaderOf(c, survivor) != survivor {
		if time.Now().After(end) {
			t.Fatalf("%s did not lead after peers.json recovery\n%s", survivor, tails(c))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(n.dataDir, "raft", "peers.json.applied")); err != nil {
		t.Errorf("peers.json was not renamed after recovery: %v", err)
	}
	// committed history survived: the plan seen before, and the bids
	var p planOut
	if err := getJSON(c.HTTP(survivor), fmt.Sprintf("/v1/plan?epoch=%d", before.Epoch), &p); err != nil || p.Hash != before.Hash {
		t.Fatalf("plan of epoch %d after recovery: %+v %v (want %s)", before.Epoch, p, err, before.Hash)
	}
	if err := put(c.HTTP(survivor), "/v1/service/after-recovery", map[string]any{"class": "batch"}); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	// two replacement servers with fresh data dirs join and are promoted
	for _, s := range []string{"s2", "s3"} {
		must(t, os.RemoveAll(pc.node[s].dataDir))
		must(t, c.Start(s))
	}
	ps := waitVoters(t, c, 3, 60*time.Second)
	t.Logf("recovered: voters %s", voterNames(ps))
	// the history before the loss is still linearizable with reads after it
	load2 := &Load{c: c, rec: rec, keys: load.keys}
	load2.cancel = func() {}
	load2.finish(t)
}

// TestProcBadInput: join to an unreachable or non-Allot address fails with
// a clear message in bounded time; removing a non-existent peer or the last
// voter is refused with a clear message.
func TestProcBadInput(t *testing.T) {
	c := newProcCluster(t, 1)
	waitLeader(t, c, 60*time.Second)
	waitVoters(t, c, 3, 30*time.Second)
	closed := freePort(t)
	// a TCP server that is not Allot: answers garbage and hangs up
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			conn.Close()
		}
	}()
	for _, tc := range []struct{ what, addr string }{
		{"unreachable", "127.0.0.1:" + strconv.Itoa(closed)},
		{"not Allot", ln.Addr().String()},
		{"unresolvable", "no-such-host.invalid:7481"},
	} {
		out, code, took := cli(c, "s1", "join", tc.addr)
		t.Logf("join %s (%s): exit %d in %s: %s", tc.what, tc.addr, code, took.Round(time.Millisecond), out)
		if code != 1 || !strings.Contains(out, tc.addr) || took > 20*time.Second {
			t.Errorf("join %s: want exit 1 naming %s within 20 s; got exit %d after %s: %s", tc.what, tc.addr, code, took, out)
		}
	}
	out, code, _ := cli(c, "s1", "operator", "raft", "remove-peer", "--id", "no-such-peer")
	t.Logf("remove-peer no-such-peer: exit %d: %s", code, out)
	if code != 1 || !strings.Contains(out, "not in the raft configuration") {
		t.Errorf("remove-peer of an unknown id: exit %d: %s", code, out)
	}
	// a single-server cluster refuses to remove its only voter
	one := &procCluster{t: t, dir: t.TempDir(), node: map[string]*procNode{}}
	one.cfg = c.cfg
	one.add("solo", true)
	one.node["solo"].extra = []string{"--bootstrap-expect", "1"}
	t.Cleanup(one.Close)
	must(t, one.Start("solo"))
	end := time.Now().Add(30 * time.Second)
	for leaderOf(one, "solo") != "solo" {
		if time.Now().After(end) {
			t.Fatalf("solo server did not lead\n%s", one.Logs("solo"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, code, _ = cli(one, "solo", "operator", "raft", "remove-peer", "--id", "solo")
	t.Logf("remove-peer of the last voter: exit %d: %s", code, out)
	if code != 1 || !strings.Contains(out, "last voter") {
		t.Errorf("remove-peer of the last voter: exit %d: %s", code, out)
	}
	var ps []peer
	must(t, getJSON(one.HTTP("solo"), "/v1/status/peers", &ps))
	if len(ps) != 1 {
		t.Errorf("solo peers after refused removal: %+v", ps)
	}
	_ = json.Valid
}

// TestProcDeadServerRemoved: with dead_server_grace 3s and min_quorum 2, a
// server killed for good is kept (marked failed) during the grace, then
// removed; started again on its data, it is re-added and promoted.
func TestProcDeadServerRemoved(t *testing.T) {
	cfg := strings.Replace(clusterConfig(), `dead_server_grace = "5m"`, `dead_server_grace = "3s"
  min_quorum = 2`, 1)
	c := newProcClusterCfg(t, 1, cfg)
	setup(t, c)
	l := waitLeader(t, c, 30*time.Second)
	waitVoters(t, c, 3, 30*time.Second)
	victim := others(c.Servers(), l)[0]
	must(t, c.Kill(victim))
	killed := time.Now()
	// marked failed, still a voter, during the grace
	end := time.Now().Add(15 * time.Second)
	for {
		var nodes []struct{ Name, Status string }
		failed := false
		if getJSON(c.HTTP(l), "/v1/nodes", &nodes) == nil {
			for _, n := range nodes {
				failed = failed || (n.Name == victim && n.Status == "failed")
			}
		}
		if failed {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s not marked failed within 15 s: %+v", victim, nodes)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ps []peer
	must(t, getJSON(c.HTTP(l), "/v1/status/peers", &ps))
	if len(ps) != 3 {
		t.Fatalf("%s removed before the grace ended: %+v", victim, ps)
	}
	t.Logf("%s marked failed %s after the kill, still in raft", victim, time.Since(killed).Round(time.Millisecond))
	ps = waitVoters(t, c, 2, 30*time.Second)
	t.Logf("%s removed %s after the kill: voters %s", victim, time.Since(killed).Round(time.Millisecond), voterNames(ps))
	must(t, c.Start(victim))
	ps = waitVoters(t, c, 3, 30*time.Second)
	t.Logf("%s re-added and promoted: voters %s", victim, voterNames(ps))
}

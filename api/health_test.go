package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/internal/waitfor"
)

// brokenDisk is a follower whose disk cannot be written.
type brokenDisk struct{ *followerView }

func (brokenDisk) DiskWritable() error {
	return errors.New("data directory not writable: no space left on device")
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// Finding 3 of issue 13: a server that has not caught up with its leader
// is not ready, and its reads wait or answer 503 unless ?stale; liveness
// stays 200.
func TestNotCaughtUpIsNotReady(t *testing.T) {
	var leaderIndex atomic.Uint64
	leaderIndex.Store(100)
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/internal/index" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"index": leaderIndex.Load(), "leader": true})
	}))
	defer leader.Close()
	cl := &followerView{leader: "L", f: fsm.New()}
	ag := membersView{{Meta: gossip.Meta{ID: "L", Name: "l", Server: true, HTTPAddr: leader.Listener.Addr().String()}, Status: gossip.StatusAlive}}
	srv := httptest.NewServer(NewServer(Options{Cluster: cl, Agent: ag, NoLeaderWait: time.Second}))
	defer srv.Close()

	code, m := get(t, srv.URL+"/v1/health")
	if code != 503 || !strings.Contains(m["reasons"].([]any)[0].(string), "applied index 0, the leader L is at 100") {
		t.Fatalf("health of a server behind its leader: %d %v", code, m)
	}
	if code, m := get(t, srv.URL+"/v1/health/live"); code != 200 || m["live"] != true {
		t.Fatalf("liveness: %d %v", code, m)
	}
	if code, m := get(t, srv.URL+"/v1/services"); code != 503 || !strings.Contains(m["error"].(string), "?stale") {
		t.Fatalf("read before catching up: %d %v", code, m)
	}
	if code, _ := get(t, srv.URL+"/v1/services?stale"); code != 200 {
		t.Fatalf("?stale read: %d", code)
	}
	leaderIndex.Store(0)
	if code, m := get(t, srv.URL+"/v1/health"); code != 200 || m["ready"] != true {
		t.Fatalf("health once caught up: %d %v", code, m)
	}
	if code, _ := get(t, srv.URL+"/v1/services"); code != 200 {
		t.Fatalf("read once caught up: %d", code)
	}

	// No leader: not ready; reads still served from the caught-up state (fail-static).
	cl.setLeader("")
	if code, m := get(t, srv.URL+"/v1/health"); code != 503 || m["reasons"].([]any)[0] != "no leader" {
		t.Fatalf("health without a leader: %d %v", code, m)
	}
	if code, _ := get(t, srv.URL+"/v1/services"); code != 200 {
		t.Fatalf("read without a leader after catching up: %d", code)
	}
}

func TestNeverCaughtUpWithoutLeaderRefusesReads(t *testing.T) {
	cl := &followerView{leader: "", f: fsm.New()}
	srv := httptest.NewServer(NewServer(Options{Cluster: cl, Agent: membersView{}, NoLeaderWait: time.Second}))
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/v1/services"); code != 503 {
		t.Fatalf("read on a restarted server with no leader: %d", code)
	}
	if code, _ := get(t, srv.URL+"/v1/plan?stale"); code != 404 {
		t.Fatalf("?stale read: %d, want the handler's 404 (no plan)", code)
	}
}

func TestUnwritableDiskIsNotReady(t *testing.T) {
	idx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"index": 0})
	}))
	defer idx.Close()
	cl := brokenDisk{&followerView{leader: "L", f: fsm.New()}}
	ag := membersView{{Meta: gossip.Meta{ID: "L", Server: true, HTTPAddr: idx.Listener.Addr().String()}, Status: gossip.StatusAlive}}
	srv := httptest.NewServer(NewServer(Options{Cluster: cl, Agent: ag}))
	defer srv.Close()
	code, m := get(t, srv.URL+"/v1/health")
	if code != 503 || !strings.Contains(strings.Join(strings.Fields(m["reasons"].([]any)[0].(string)), " "), "no space left") {
		t.Fatalf("health with a full disk: %d %v", code, m)
	}
}

// Issue 12 (run F2): a node's blocking watch that reaches a follower behind
// its leader waits, within its own wait, until the follower has caught up
// and then answers, instead of 503 after catchUpWait; a plain read still
// answers 503, and so does a blocking one whose wait ends first.
func TestBehindFollowerBlockingQueryWaits(t *testing.T) {
	plan := bidding.Plan{Epoch: 1, Hash: "sha256:plan-1", Created: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 500}},
		Nodes:       []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000}}}}
	entry, err := fsm.Encode(fsm.CmdCommitPlan, fsm.CommitPlan{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		query   string
		catchUp bool // the follower applies the leader's entry once catchUpWait has passed
		code    int
		body    string // in the answer
	}{
		{"blocking slice watch", "/v1/plan?node=n1&index=0&wait=60s", true, 200, `"node_hash"`},
		{"blocking whole-plan watch", "/v1/plan?index=0&wait=60s", true, 200, `"epoch": 1`},
		{"plain slice read", "/v1/plan?node=n1", false, 503, "catching up: applied index 0, the leader L is at 1"},
		{"plain read", "/v1/services", false, 503, "catching up"},
		{"blocking watch whose wait ends first", "/v1/plan?node=n1&index=0&wait=1500ms", false, 503, "catching up"},
		{"stale blocking watch (no gate: the handler waits for the plan)", "/v1/plan?index=0&wait=60s&stale", true, 200, `"epoch": 1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var asked atomic.Int64
			leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				json.NewEncoder(w).Encode(map[string]any{"index": 1, "leader": true})
			}))
			defer leader.Close()
			cl := &followerView{leader: "L", f: fsm.New()}
			ag := membersView{{Meta: gossip.Meta{ID: "L", Name: "l", Server: true, HTTPAddr: leader.Listener.Addr().String()}, Status: gossip.StatusAlive}}
			srv := httptest.NewServer(NewServer(Options{Cluster: cl, Agent: ag, NoLeaderWait: time.Second}))
			defer srv.Close()

			type answer struct {
				code int
				body string
				err  error
			}
			done := make(chan answer, 1)
			start := time.Now()
			go func() {
				resp, err := http.Get(srv.URL + c.query)
				if err != nil {
					done <- answer{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				done <- answer{resp.StatusCode, string(b), err}
			}()
			if c.catchUp {
				if !strings.Contains(c.query, "stale") {
					waitfor.True(t, "the follower to ask the leader its index", 20*time.Second, func() bool { return asked.Load() > 0 })
				}
				waitfor.True(t, "catchUpWait to pass", 20*time.Second, func() bool { return time.Since(start) > catchUpWait+200*time.Millisecond })
				select {
				case a := <-done:
					t.Fatalf("answered %d before the follower caught up: %s %v", a.code, a.body, a.err)
				default:
				}
				if err := cl.f.ApplyCommand(1, entry); err != nil {
					t.Fatal(err)
				}
			}
			a := <-done
			if a.err != nil || a.code != c.code || !strings.Contains(a.body, c.body) {
				t.Fatalf("got %d %q (%v), want %d with %q", a.code, a.body, a.err, c.code, c.body)
			}
		})
	}
}

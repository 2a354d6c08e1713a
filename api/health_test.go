package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
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

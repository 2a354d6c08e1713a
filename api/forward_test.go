package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
)

// followerView is a follower that knows a leader by ID (tests change it).
type followerView struct {
	mu     sync.Mutex
	leader string
	f      *fsm.FSM
}

func (c *followerView) IsLeader() bool { return false }
func (c *followerView) Leader() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "raft-" + c.leader, c.leader
}
func (c *followerView) setLeader(id string)            { c.mu.Lock(); c.leader = id; c.mu.Unlock() }
func (c *followerView) Peers() ([]cluster.Peer, error) { return nil, nil }
func (c *followerView) Apply(context.Context, fsm.CommandType, any) (uint64, error) {
	panic("a follower does not apply")
}
func (c *followerView) RemovePeer(context.Context, string) error { return nil }
func (c *followerView) HasConfiguration() bool                   { return true }
func (c *followerView) FSM() *fsm.FSM                            { return c.f }
func (c *followerView) Stats() map[string]string                 { return nil }

type membersView []gossip.Member

func (m membersView) Self() Self                  { return Self{ID: "f"} }
func (m membersView) Members() []gossip.Member    { return m }
func (m membersView) Join([]string) (int, error)  { return 0, nil }
func (m membersView) Leave(context.Context) error { return nil }

// Finding 9 of issue 13: a write forwarded to a frozen leader gives up as
// soon as this server sees another leader, not after minutes.
func TestForwardedWriteGivesUpWhenTheLeaderChanges(t *testing.T) {
	release := make(chan struct{})
	frozen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer frozen.Close()
	defer close(release)
	cl := &followerView{leader: "old", f: fsm.New()}
	ag := membersView{{Meta: gossip.Meta{ID: "old", Name: "old", Server: true, HTTPAddr: frozen.Listener.Addr().String()}, Status: gossip.StatusAlive}}
	srv := httptest.NewServer(NewServer(Options{Cluster: cl, Agent: ag, NoLeaderWait: time.Second}))
	defer srv.Close()
	time.AfterFunc(300*time.Millisecond, func() { cl.setLeader("new") })

	t0 := time.Now()
	req, _ := http.NewRequest("PUT", srv.URL+"/v1/service/web", strings.NewReader(`{"class":"batch"}`))
	resp, err := (&http.Client{Timeout: 8 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("forwarded write still hanging after %s: %v", time.Since(t0), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("gave up after %s; the leader changed after 300ms", d)
	}
}

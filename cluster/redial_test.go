package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/hashicorp/raft"
)

func TestIsHeartbeatAndIsDialError(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name      string
		req       raft.AppendEntriesRequest
		err       error
		heartbeat bool
		dial      bool
	}{
		{"heartbeat", raft.AppendEntriesRequest{Term: 3}, dial, true, true},
		{"entries", raft.AppendEntriesRequest{Term: 3, Entries: []*raft.Log{{Index: 5}}, PrevLogEntry: 4, LeaderCommitIndex: 4}, dial, false, true},
		{"commit index only", raft.AppendEntriesRequest{Term: 3, PrevLogEntry: 4, LeaderCommitIndex: 4}, fmt.Errorf("rpc: %w", dial), false, true},
		{"read error", raft.AppendEntriesRequest{Term: 3, PrevLogEntry: 4}, &net.OpError{Op: "read", Err: errors.New("reset")}, false, false},
		{"other error", raft.AppendEntriesRequest{Term: 3, PrevLogEntry: 4}, errors.New("shutdown"), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := isHeartbeat(&c.req); got != c.heartbeat {
				t.Errorf("isHeartbeat = %v, want %v", got, c.heartbeat)
			}
			if got := isDialError(c.err); got != c.dial {
				t.Errorf("isDialError = %v, want %v", got, c.dial)
			}
		})
	}
}

// TestReturningFollowerCatchesUp: three servers on real TCP, a follower
// stopped while entries are written, then restarted on the same port and
// data dir, catches up with the leader; writes commit while it is away
// (the redialling RPC does not hold up the others) and every server stops
// promptly with a follower unreachable.
func TestReturningFollowerCatchesUp(t *testing.T) {
	dir := t.TempDir()
	var cfgs []Config
	var servers []*Server
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfgs = append(cfgs, Config{ID: fmt.Sprintf("id-%d", i), Name: fmt.Sprintf("n%d", i), DataDir: fmt.Sprintf("%s/n%d", dir, i),
			BindAddr: "127.0.0.1", RaftPort: port, AdvertiseAddr: "127.0.0.1", Heartbeat: 100 * time.Millisecond,
			Election: 100 * time.Millisecond, Epoch: time.Hour, BidTTL: 3, PlanHistory: 5, Options: bidding.DefaultOptions()})
	}
	var conf raft.Configuration
	for _, c := range cfgs {
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(c.ID), Address: raft.ServerAddress(fmt.Sprintf("127.0.0.1:%d", c.RaftPort)), Suffrage: raft.Voter})
	}
	for _, c := range cfgs {
		s, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.raft.BootstrapCluster(conf).Error(); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			if s != nil {
				_ = s.Shutdown()
			}
		}
	})
	var leader *Server
	waitfor.True(t, "a leader", 10*time.Second, func() bool {
		for _, s := range servers {
			if s.IsLeader() {
				leader = s
				return true
			}
		}
		return false
	})
	fi := 0
	for i, s := range servers {
		if s != leader {
			fi = i
		}
	}
	if err := servers[fi].Shutdown(); err != nil {
		t.Fatal(err)
	}
	servers[fi] = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 200 {
		m := fsm.Member{ID: fmt.Sprintf("c%d", i%7), Name: fmt.Sprintf("c%d", i%7), Client: true}
		if _, err := leader.Apply(ctx, fsm.CmdUpsertMember, fsm.UpsertMember{Member: m}); err != nil {
			t.Fatalf("write %d with a follower away: %v", i, err)
		}
	}
	want := leader.FSM().Index()
	back, err := New(cfgs[fi])
	if err != nil {
		t.Fatal(err)
	}
	servers[fi] = back
	waitfor.True(t, "the returning follower to catch up", 20*time.Second, func() bool { return back.FSM().Index() >= want })
	if back.FSM().Hash() != leader.FSM().Hash() {
		t.Fatal("the follower caught up to a different state") // nothing is written after want
	}
}

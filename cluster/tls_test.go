package cluster

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/tlsutil"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// testPKI makes a CA in a temp dir and returns a loader of certificates it signs.
func testPKI(t *testing.T) func(role tlsutil.Role) *tlsutil.Certs {
	t.Helper()
	dir := t.TempDir()
	ca, caKey, err := tlsutil.CreateCA(dir, tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return func(role tlsutil.Role) *tlsutil.Certs {
		t.Helper()
		cert, key, err := tlsutil.CreateCert(dir, ca, caKey, tlsutil.CertOptions{Role: role})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tlsutil.Load(tlsutil.Files{CA: ca, Cert: cert, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

type staticMembers struct {
	mu sync.Mutex
	m  []gossip.Member
}

func (s *staticMembers) Members() []gossip.Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gossip.Member(nil), s.m...)
}

func newTLSServer(t *testing.T, id string, expect int, certs *tlsutil.Certs, log hclog.Logger) *Server {
	t.Helper()
	s, err := New(Config{ID: id, Name: id, BindAddr: "127.0.0.1", RaftPort: 0, AdvertiseAddr: "127.0.0.1",
		BootstrapExpect: expect, Heartbeat: 100 * time.Millisecond, Election: 100 * time.Millisecond,
		Epoch: time.Hour, BidTTL: 3, PlanHistory: 10, Options: bidding.DefaultOptions(), Logger: log, TLS: certs})
	if err != nil {
		t.Fatalf("starting %s: %v", id, err)
	}
	return s
}

// TestRaftOverMutualTLS runs three servers with real TCP transports over
// mutual TLS on 127.0.0.1: they bootstrap, elect a leader and replicate a
// write. Then peers that must not take part try: a server with a
// certificate of another CA (both directions), an agent with a client
// certificate of the right CA, and a plain-TCP Raft transport. Every one
// of their Raft RPCs fails, and the cluster goes on committing.
func TestRaftOverMutualTLS(t *testing.T) {
	issue := testPKI(t)
	w := &logWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) }) // runs last: no logging into a finished test
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: w})
	members := &staticMembers{}
	var servers []*Server
	for i := 1; i <= 3; i++ {
		s := newTLSServer(t, fmt.Sprintf("tls-%d", i), 3, issue(tlsutil.RoleServer), log)
		servers = append(servers, s)
		members.m = append(members.m, gossip.Member{Meta: gossip.Meta{ID: s.cfg.ID, Name: s.cfg.ID, Server: true, RaftAddr: s.RaftAddr()}, Status: gossip.StatusAlive})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, s := range servers {
		if _, port, _ := net.SplitHostPort(s.RaftAddr()); port == "0" {
			t.Fatalf("raft advertises port 0: %s", s.RaftAddr())
		}
		s.Run(ctx, members, func(context.Context, gossip.Member) (bool, error) { return false, nil })
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Shutdown()
		}
	})
	leader := waitLeader(t, ctx, servers)
	apply := func(name string) {
		t.Helper()
		for {
			l := waitLeader(t, ctx, servers)
			_, err := l.Apply(ctx, fsm.CmdRegisterService, fsm.RegisterService{Service: bidding.Service{Name: name, Class: bidding.ClassBatch}})
			if err == nil {
				break
			}
			if err != ErrNotLeader || ctx.Err() != nil {
				t.Fatalf("apply %s: %v", name, err)
			}
		}
		for _, s := range servers {
			for {
				if _, ok := s.FSM().Service(name); ok {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%s never received %s over TLS", s.cfg.ID, name)
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
	apply("replicated-over-tls")

	// A server whose certificate comes from another CA.
	rogue := newTLSServer(t, "rogue", 0, testPKI(t)(tlsutil.RoleServer), log)
	t.Cleanup(func() { _ = rogue.Shutdown() })
	lid, laddr := raft.ServerID(leader.cfg.ID), raft.ServerAddress(leader.RaftAddr())
	vote := func(tr raft.Transport) error {
		var resp raft.RequestVoteResponse
		return tr.RequestVote(lid, laddr, &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("rogue"), Addr: []byte(tr.LocalAddr())},
			Term: 1 << 40, LastLogIndex: 1 << 40, LastLogTerm: 1 << 40}, &resp)
	}
	if err := vote(rogue.transport); err == nil {
		t.Fatal("a server with another CA's certificate reached the leader's Raft")
	}
	var aresp raft.AppendEntriesResponse
	if err := leader.transport.AppendEntries("rogue", raft.ServerAddress(rogue.RaftAddr()), &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte(lid), Addr: []byte(laddr)}, Term: 1}, &aresp); err == nil {
		t.Fatal("the leader accepted a Raft peer with another CA's certificate")
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("leader to rogue: %v, want a certificate error", err)
	}

	// A client agent's certificate of the right CA cannot speak Raft.
	ct, err := newTLSTransport("127.0.0.1:0", "127.0.0.1", issue(tlsutil.RoleClient), log)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	if err := vote(ct); err == nil {
		t.Fatal("a client certificate reached the leader's Raft")
	}

	// Plain TCP Raft to a TLS server.
	plain, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 1, 2*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := vote(plain); err == nil {
		t.Fatal("a plain TCP Raft transport reached the leader")
	}

	// None of it disturbed the cluster.
	apply("after-refusals")
}

func waitLeader(t *testing.T, ctx context.Context, servers []*Server) *Server {
	t.Helper()
	for {
		for _, s := range servers {
			if s.IsLeader() {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no leader elected over TLS")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type logWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

package clusterbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/go-hclog"
)

// server is one in-process Allot server: real Raft over TCP on loopback,
// raft-boltdb and file snapshots in its own data dir, and the real HTTP API.
type server struct {
	id, name string
	dataDir  string
	raftPort int
	httpAddr string
	cfg      cluster.Config
	srv      *cluster.Server
	http     *http.Server
	cancel   context.CancelFunc
}

// fleet is three servers sharing a gossip view the benchmark controls: the
// servers themselves and the simulated client nodes (alive, with capacity),
// which the leader reconciles into member records as it would from gossip.
type fleet struct {
	log     hclog.Logger
	servers []*server
	mu      sync.Mutex
	view    []gossip.Member
}

// Members implements cluster.Members (the gossip view).
func (f *fleet) Members() []gossip.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gossip.Member(nil), f.view...)
}

// agentView is what the API needs of an agent.
type agentView struct {
	f    *fleet
	self *server
}

func (a agentView) Self() api.Self {
	return api.Self{ID: a.self.id, Name: a.self.name, Server: true, Role: "server", HTTPAddr: a.self.httpAddr}
}
func (a agentView) Members() []gossip.Member { return a.f.Members() }
func (a agentView) Join([]string) (int, error) {
	return 0, errors.New("the benchmark's gossip view is fixed")
}
func (a agentView) Leave(context.Context) error {
	return errors.New("the benchmark's gossip view is fixed")
}

// fleetOptions are the knobs a fleet is started with.
type fleetOptions struct {
	dir         string
	raft        RaftTuning
	epoch       time.Duration
	batchWait   time.Duration // cluster.Config.BatchWait (negative: no group commit)
	redialEvery time.Duration // cluster.Config.RedialEvery (negative: raft's own backoff)
	nodes       []string      // simulated client nodes
	capacity    bidding.Vec
}

// startFleet starts three servers that bootstrap together and waits until
// one leads and every member record is in the state.
func startFleet(ctx context.Context, log hclog.Logger, o fleetOptions) (*fleet, error) {
	f := &fleet{log: log}
	for i := 1; i <= 3; i++ {
		raftPort, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &server{id: fmt.Sprintf("bench-server-%d", i), name: fmt.Sprintf("server-%d", i), raftPort: raftPort,
			dataDir: filepath.Join(o.dir, fmt.Sprintf("server-%d", i))}
		s.cfg = cluster.Config{ID: s.id, Name: s.name, DataDir: s.dataDir, BindAddr: "127.0.0.1", RaftPort: raftPort,
			AdvertiseAddr: "127.0.0.1", BootstrapExpect: 3, Heartbeat: 500 * time.Millisecond, Election: 500 * time.Millisecond,
			Epoch: o.epoch, BidTTL: 3, PlanHistory: 288, Options: bidding.DefaultOptions(),
			BatchWait: o.batchWait, RedialEvery: o.redialEvery, Logger: log.Named(s.name),
			SnapshotThreshold: o.raft.SnapshotThreshold, SnapshotInterval: o.raft.SnapshotInterval, TrailingLogs: o.raft.TrailingLogs,
			LogBudgetFloor: o.raft.LogBudgetFloor}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("listening for %s's API: %w", s.name, err)
		}
		s.httpAddr = ln.Addr().String()
		ln.Close()
		f.servers = append(f.servers, s)
	}
	for _, s := range f.servers {
		f.view = append(f.view, gossip.Member{Meta: gossip.Meta{ID: s.id, Name: s.name, Server: true, RaftAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.raftPort)),
			HTTPAddr: s.httpAddr, Bootstrap: 3}, Addr: "gossip-" + s.id, Status: gossip.StatusAlive})
	}
	for _, n := range o.nodes {
		f.view = append(f.view, gossip.Member{Meta: gossip.Meta{ID: "id-" + n, Name: n, Client: true, Capacity: [4]int64(o.capacity)},
			Addr: "gossip-" + n, Status: gossip.StatusAlive})
	}
	for _, s := range f.servers {
		if err := f.start(ctx, s); err != nil {
			f.stop()
			return nil, err
		}
	}
	want := len(o.nodes) + 3
	err := poll(ctx, 2*time.Minute, 50*time.Millisecond, func() bool {
		l := f.leader()
		return l != nil && len(l.srv.FSM().Members()) >= want
	})
	if err != nil {
		f.stop()
		return nil, fmt.Errorf("waiting for a leader with %d member records: %w", want, err)
	}
	return f, nil
}

// start opens (or reopens) a server's Raft on its data dir and port and
// serves its API.
func (f *fleet) start(ctx context.Context, s *server) error {
	srv, err := cluster.New(s.cfg)
	if err != nil {
		return fmt.Errorf("starting %s: %w", s.name, err)
	}
	ln, err := net.Listen("tcp", s.httpAddr)
	if err != nil {
		_ = srv.Shutdown()
		return fmt.Errorf("serving %s's API: %w", s.name, err)
	}
	h := api.NewServer(api.Options{Cluster: srv, Agent: agentView{f: f, self: s}, Logger: f.log.Named(s.name)})
	s.srv, s.http = srv, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	rctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	srv.Run(rctx, f, func(context.Context, gossip.Member) (bool, error) { return false, nil })
	return nil
}

// stopServer shuts one server down, keeping its data dir.
func (f *fleet) stopServer(s *server) {
	if s.srv == nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = s.http.Shutdown(sctx)
	cancel()
	s.cancel()
	_ = s.srv.Shutdown()
	s.srv, s.http = nil, nil // nothing of a stopped server stays reachable (oneServer measures the heap)
}

func (f *fleet) stop() {
	for _, s := range f.servers {
		f.stopServer(s)
	}
}

// leader is the running server that leads, or nil.
func (f *fleet) leader() *server {
	for _, s := range f.servers {
		if s.srv != nil && s.srv.IsLeader() {
			return s
		}
	}
	return nil
}

// follower is a running server that does not lead, or nil.
func (f *fleet) follower() *server {
	for _, s := range f.servers {
		if s.srv != nil && !s.srv.IsLeader() {
			return s
		}
	}
	return nil
}

// client is an API client of one server (nil hc: a client of its own).
func (s *server) client(hc *http.Client) *api.Client {
	if hc == nil {
		hc = &http.Client{Transport: pooledTransport(16), Timeout: time.Minute}
	}
	return &api.Client{Addr: s.httpAddr, HTTP: hc}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// poll checks ok every step until it holds, ctx ends or d passes.
func poll(ctx context.Context, d, step time.Duration, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(step)
	defer t.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

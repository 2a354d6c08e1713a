// Package agent wires one Allot process together: configuration, node ID,
// gossip, the Raft server (if --server), the HTTP API, and the client loop
// (if --client). It owns start-up order and clean shutdown, nothing else.
package agent

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/audit"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/config"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/metrics"
	"github.com/allot-dev/allot/usage"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// The audit log's rotation: 64 MiB files, 5 kept.
const (
	AuditMaxBytes = 64 << 20
	AuditKeep     = 5
)

// Agent is one running Allot process.
type Agent struct {
	cfg     *config.Config
	log     hclog.Logger
	version string
	id      string

	gossip *gossip.Gossip
	server *cluster.Server
	api    *api.Server
	http   *http.Server
	ln     net.Listener
	// bound is the API's bound address, published once ln (and tls) are
	// set: other goroutines (the dev demo, tests) poll HTTPAddr for it.
	bound atomic.Pointer[string]

	tls       *agentTLS // nil without mutual TLS (agent/tls.go)
	leaveOnce sync.Once
	left      chan struct{}
	extra     map[string]http.Handler
	out       io.Writer // where the dev demo prints what it would enforce
	// usageCfg overrides where the client reads usage (tests: a fake
	// cgroup tree); nil detects the host's hierarchies.
	usageCfg *usage.Config
	// metrics is this agent's registry, served at /metrics.
	metrics *metrics.Registry
	// decoy is the command of the OOM decoy a borrowing client runs
	// (SetDecoy); nil: none is run.
	decoy []string
}

// New prepares an agent; nothing binds until Run.
func New(cfg *config.Config, log hclog.Logger, version string) *Agent {
	return &Agent{cfg: cfg, log: log, version: version, left: make(chan struct{}), extra: map[string]http.Handler{}, out: io.Discard,
		metrics: metrics.New()}
}

// SetOutput sets where the dev demo prints what enforcement would do (before Run).
func (a *Agent) SetOutput(w io.Writer) { a.out = w }

// SetDecoy sets the command that starts the OOM decoy (enforce.Decoy) where
// the client borrows memory (before Run): the agent's own binary's `allot
// oom-decoy`. Unset, none is run.
func (a *Agent) SetDecoy(argv ...string) { a.decoy = argv }

// Handle adds an HTTP handler to the API (before Run).
func (a *Agent) Handle(pattern string, h http.Handler) { a.extra[pattern] = h }

// nodeID returns the permanent node ID kept in the data dir (a fresh one in dev mode).
func nodeID(dataDir string) (string, error) {
	newID := func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		h := hex.EncodeToString(b)
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	if dataDir == "" {
		return newID(), nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("creating data dir: %w", err)
	}
	p := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(p); err == nil {
		id := strings.TrimSpace(string(b))
		if id != "" {
			return id, nil
		}
	}
	id := newID()
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing node id: %w", err)
	}
	return id, nil
}

// Capacity returns the client capacity: configured values, else the machine's cpu and memory.
func Capacity(cfg *config.Config) bidding.Vec {
	c := cfg.Capacity
	if c[bidding.CPU] == 0 {
		c[bidding.CPU] = int64(numCPU()) * 1000
	}
	if c[bidding.Memory] == 0 {
		c[bidding.Memory] = memTotal()
	}
	return c
}

// Run starts everything and blocks until ctx ends or the agent leaves.
func (a *Agent) Run(ctx context.Context) error {
	cfg := a.cfg
	id, err := nodeID(cfg.DataDir)
	if err != nil {
		return err
	}
	a.id = id
	// Before raft and memberlist start, so their first telemetry is kept.
	if err := a.metrics.BridgeLibraries(); err != nil {
		a.log.Warn("raft and memberlist metrics not served", "error", err)
	}
	a.log.Info("starting agent", "node", cfg.NodeName, "id", id, "server", cfg.Server, "client", cfg.Client, "version", a.version)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The node's runtimes and enforcement are chosen before anything
	// binds: an explicit cgroup mode this host cannot honour, or a Docker
	// socket that does not answer, stops the agent here.
	var nd *node
	if cfg.Client {
		if nd, err = a.buildNode(ctx); err != nil {
			return fmt.Errorf("client: %w", err)
		}
		defer nd.close()
	}

	if a.tls, err = newAgentTLS(cfg); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("binding HTTP API on %s: %w", cfg.HTTPAddr, err)
	}
	limits := api.DefaultLimits()
	ln = limits.Listener(ln)
	if a.tls != nil {
		ln = tls.NewListener(ln, a.tls.certs.ServerConfig(""))
	}
	a.ln = ln
	bound := ln.Addr().String()
	a.bound.Store(&bound)
	httpAddr := advertised(ln.Addr().String(), cfg.AdvertiseIP())

	if cfg.Server {
		ccfg := cluster.Config{ID: id, Name: cfg.NodeName, DataDir: cfg.DataDir, BindAddr: cfg.Bind, RaftPort: cfg.RaftPort,
			AdvertiseAddr: cfg.AdvertiseIP(), BootstrapExpect: cfg.BootstrapExpect, Heartbeat: cfg.RaftHeartbeat,
			Election: cfg.RaftElection, Epoch: cfg.Epoch, BidTTL: cfg.BidTTL, PlanHistory: cfg.PlanHistory, PlanHistoryBytes: cfg.PlanHistoryBytes, Logger: a.log,
			StabilizationTime: cfg.ServerStabilization, DeadServerGrace: cfg.DeadServerGrace, MinQuorum: cfg.MinQuorum,
			SnapshotThreshold: cfg.RaftSnapshotThreshold, SnapshotInterval: cfg.RaftSnapshotInterval, TrailingLogs: cfg.RaftTrailingLogs,
			Options: cfg.Solver}
		if a.tls != nil {
			ccfg.TLS = a.tls.certs
		}
		if cfg.Dev {
			ccfg.DataDir = ""
			_, ccfg.Transport = raft.NewInmemTransport(raft.ServerAddress("dev-" + id))
		}
		srv, err := cluster.New(ccfg)
		if err != nil {
			ln.Close()
			return err
		}
		a.server = srv
	}
	var auditLog *audit.Log // the writes this server accepts as leader
	if a.server != nil && cfg.DataDir != "" && !cfg.Dev {
		if auditLog, err = audit.Open(filepath.Join(cfg.DataDir, "audit"), AuditMaxBytes, AuditKeep); err != nil {
			a.closeServer()
			ln.Close()
			return fmt.Errorf("opening the audit log: %w", err)
		}
		defer auditLog.Close()
	}
	meta := gossip.Meta{ID: id, Name: cfg.NodeName, Server: cfg.Server, Client: cfg.Client, HTTPAddr: httpAddr, Version: a.version, Bootstrap: cfg.BootstrapExpect}
	if a.server != nil {
		meta.RaftAddr = a.server.RaftAddr()
	}
	if cfg.Client {
		meta.Capacity = Capacity(cfg)
	}
	g, err := gossip.New(gossip.Config{Meta: meta, BindAddr: cfg.Bind, BindPort: cfg.GossipPort, AdvertiseAddr: cfg.AdvertiseIP(),
		SecretKey: cfg.EncryptKey(), Logger: a.log})
	if err != nil {
		a.closeServer()
		ln.Close()
		return err
	}
	a.gossip = g

	var wg sync.WaitGroup
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Add(1)
	go func() { defer wg.Done(); a.reloadOnHUP(ctx, hup) }()
	if len(cfg.Join) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.JoinRetry(ctx, cfg.Join); err != nil && ctx.Err() == nil {
				a.log.Error("join gave up", "error", err)
				return
			}
			// Push our state again a few times: a node that came back at a
			// new address is refused by peers until its old address is
			// declared dead (seconds later), and nobody else would tell
			// them the new one before the next push/pull (30 s or more).
			for _, d := range []time.Duration{3 * time.Second, 6 * time.Second, 12 * time.Second, 24 * time.Second} {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
				if _, err := g.Join(cfg.Join); err != nil {
					a.log.Debug("re-announce to join addresses failed", "error", err)
				}
			}
		}()
	}
	if a.server != nil {
		a.server.Run(ctx, g, a.probePeer)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-g.Events():
					a.server.Enqueue(ev.Member)
				}
			}
		}()
	} else {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-g.Events():
				}
			}
		}()
	}

	opts := api.Options{Agent: a, Logger: a.log, ExtraHandlers: a.extra, ACLEnabled: cfg.ACLEnabled, MaxInFlight: limits.MaxInFlight,
		Rate: limits.Rate, Burst: limits.Burst,
		FailedAuthRate: api.FailedAuthRate, FailedAuthBurst: api.FailedAuthBurst, Metrics: a.metrics}
	if a.tls != nil {
		opts.ForwardTLS = a.tls.forward
	}
	if a.server != nil {
		opts.Cluster = a.server
	}
	if auditLog != nil {
		opts.Audit = auditLog
	}
	a.api = api.NewServer(opts)
	// Requests' contexts end when shutdown starts: a blocking query (a
	// client's plan watch waits up to a minute) returns at once instead of
	// holding Shutdown for its whole timeout — during which a leader would
	// still lead with its API closed, and every forwarded write be refused.
	httpCtx, httpCancel := context.WithCancel(context.Background())
	defer httpCancel()
	a.http = limits.HTTPServer(a.api, httpCtx, a.log.Named("http"))
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "error", err)
		}
	}()
	if nd != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.Dev && cfg.ACLEnabled { // in-memory state: bootstrap, and run the client with that token
				if err := a.devBootstrapACL(ctx); err != nil {
					a.log.Error("node client not started: ACL bootstrap failed", "error", err)
					return
				}
			}
			a.runClient(ctx, nd)
		}()
	}
	base := a.Scheme() + "://" + ln.Addr().String()
	a.log.Info("agent running", "http", base, "ui", base+"/ui/", "gossip", g.LocalAddr(), "tls", a.tls != nil)

	select {
	case <-ctx.Done():
	case <-a.left:
	}
	a.log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	httpCancel()
	_ = a.http.Shutdown(sctx)
	cancel()
	a.closeServer()
	_ = g.Shutdown()
	wg.Wait()
	a.log.Info("agent stopped")
	return nil
}

func (a *Agent) closeServer() {
	if a.server != nil {
		if err := a.server.Shutdown(); err != nil {
			a.log.Warn("raft shutdown", "error", err)
		}
	}
}

// HTTPAddr is the bound API address (after Run has bound it).
func (a *Agent) HTTPAddr() string {
	if p := a.bound.Load(); p != nil {
		return *p
	}
	return ""
}

func advertised(bound, ip string) string {
	h, p, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if pip := net.ParseIP(h); pip != nil && pip.IsUnspecified() {
		return net.JoinHostPort(ip, p)
	}
	return bound
}

func (a *Agent) probePeer(ctx context.Context, m gossip.Member) (bool, error) {
	if m.HTTPAddr == "" {
		return false, fmt.Errorf("peer %s has no HTTP address", m.Name)
	}
	var out struct {
		Configured bool `json:"configured"`
	}
	c := a.peerClient(m.HTTPAddr)
	if _, err := c.Do(ctx, "GET", "/v1/internal/raft-configured", nil, &out); err != nil {
		return false, err
	}
	return out.Configured, nil
}

// Self implements api.Agent.
func (a *Agent) Self() api.Self {
	s := api.Self{ID: a.id, Name: a.cfg.NodeName, Server: a.cfg.Server, Client: a.cfg.Client, Version: a.version, Dev: a.cfg.Dev, Enforce: a.cfg.Enforce}
	s.Role = gossip.Member{Meta: gossip.Meta{Server: s.Server, Client: s.Client}}.Role()
	if a.ln != nil {
		s.HTTPAddr = a.ln.Addr().String()
	}
	if a.server != nil {
		s.RaftAddr = a.server.RaftAddr()
	}
	if a.gossip != nil {
		s.GossipAddr = a.gossip.LocalAddr()
	}
	return s
}

// Members implements api.Agent.
func (a *Agent) Members() []gossip.Member {
	if a.gossip == nil {
		return nil
	}
	return a.gossip.Members()
}

// Join implements api.Agent.
func (a *Agent) Join(addrs []string) (int, error) { return a.gossip.Join(addrs) }

// Leave implements api.Agent: a graceful leave. A server first flags itself
// as leaving in gossip (so no leader re-adds it), hands leadership over if
// it leads, has the leader remove it from the Raft configuration and waits
// (bounded by ctx) until it is out; then it leaves gossip and the agent
// exits. The last voter of a cluster just leaves gossip and stops: removing
// it would leave no cluster.
func (a *Agent) Leave(ctx context.Context) error {
	if err := a.gossip.UpdateMeta(func(m *gossip.Meta) { m.Leaving = true }); err != nil {
		a.log.Warn("could not announce leaving", "error", err)
	}
	if a.server != nil {
		if err := a.leaveRaft(ctx); err != nil {
			return err
		}
	}
	if err := a.gossip.Leave(ctx); err != nil {
		return err
	}
	a.leaveOnce.Do(func() { go func() { time.Sleep(200 * time.Millisecond); close(a.left) }() })
	return nil
}

func (a *Agent) leaveRaft(ctx context.Context) error {
	srv := a.server
	peers, err := srv.Peers()
	if err != nil {
		return err
	}
	voters, in := 0, false
	for _, p := range peers {
		if p.Voter {
			voters++
		}
		in = in || p.ID == a.id
	}
	if !in {
		return nil
	}
	if voters <= 1 {
		a.log.Warn("leaving as the last voter: the raft configuration is kept, the cluster stops with this server")
		return nil
	}
	if srv.IsLeader() {
		a.log.Info("leaving: transferring leadership")
		if err := srv.Raft().LeadershipTransfer().Error(); err != nil {
			a.log.Warn("leadership transfer failed; removing this server as leader instead", "error", err)
		}
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if !a.inRaft(ctx) {
			a.log.Info("leaving: removed from the raft configuration")
			return nil
		}
		if attempt%5 == 0 { // ask (again) every second
			if err := a.removeSelf(ctx); err != nil {
				a.log.Warn("leaving: asking the leader to remove this server", "error", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("leave: still in the raft configuration when the wait ended (%w); the leader removes it once gossip reports it left", ctx.Err())
}

// inRaft reports whether this server is still in the configuration, as the
// leader sees it when reachable (the removed server may never learn it was removed).
func (a *Agent) inRaft(ctx context.Context) bool {
	srv := a.server
	if _, lid := srv.Leader(); lid != "" && lid != a.id {
		if addr := a.httpAddrOf(lid); addr != "" {
			var peers []cluster.Peer
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := a.peerAPI(ctx, addr).Do(cctx, "GET", "/v1/status/peers", nil, &peers)
			cancel()
			if err == nil {
				for _, p := range peers {
					if p.ID == a.id {
						return true
					}
				}
				return false
			}
		}
	}
	peers, err := srv.Peers()
	if err != nil {
		return true
	}
	for _, p := range peers {
		if p.ID == a.id {
			return true
		}
	}
	return false
}

func (a *Agent) removeSelf(ctx context.Context) error {
	srv := a.server
	if srv.IsLeader() {
		return srv.RemovePeer(ctx, a.id)
	}
	_, lid := srv.Leader()
	if lid == "" {
		return errors.New("no leader known")
	}
	addr := a.httpAddrOf(lid)
	if addr == "" {
		return fmt.Errorf("no HTTP address known for leader %s", lid)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := a.peerAPI(ctx, addr).Do(cctx, "DELETE", "/v1/operator/raft/peer?id="+a.id, nil, nil)
	return err
}

func (a *Agent) httpAddrOf(id string) string {
	if a.server != nil {
		for _, m := range a.server.FSM().Members() {
			if m.ID == id && m.HTTPAddr != "" {
				return m.HTTPAddr
			}
		}
	}
	for _, m := range a.Members() {
		if m.ID == id && m.HTTPAddr != "" {
			return m.HTTPAddr
		}
	}
	return ""
}

// Server returns the Raft server (nil on a client-only agent).
func (a *Agent) Server() *cluster.Server { return a.server }

func numCPU() int { return runtimeNumCPU() }

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

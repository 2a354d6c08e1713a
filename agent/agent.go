// Package agent wires one Allot process together: configuration, node ID,
// gossip, the Raft server (if --server), the HTTP API, and the client loop
// (if --client). It owns start-up order and clean shutdown, nothing else.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/config"
	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
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

	leaveOnce sync.Once
	left      chan struct{}
	extra     map[string]http.Handler
}

// New prepares an agent; nothing binds until Run.
func New(cfg *config.Config, log hclog.Logger, version string) *Agent {
	return &Agent{cfg: cfg, log: log, version: version, left: make(chan struct{}), extra: map[string]http.Handler{}}
}

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
	a.log.Info("starting agent", "node", cfg.NodeName, "id", id, "server", cfg.Server, "client", cfg.Client, "version", a.version)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("binding HTTP API on %s: %w", cfg.HTTPAddr, err)
	}
	a.ln = ln
	httpAddr := advertised(ln.Addr().String(), cfg.AdvertiseIP())

	if cfg.Server {
		ccfg := cluster.Config{ID: id, Name: cfg.NodeName, DataDir: cfg.DataDir, BindAddr: cfg.Bind, RaftPort: cfg.RaftPort,
			AdvertiseAddr: cfg.AdvertiseIP(), BootstrapExpect: cfg.BootstrapExpect, Heartbeat: cfg.RaftHeartbeat,
			Election: cfg.RaftElection, Epoch: cfg.Epoch, BidTTL: cfg.BidTTL, PlanHistory: cfg.PlanHistory, Logger: a.log}
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
	if len(cfg.Join) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.JoinRetry(ctx, cfg.Join); err != nil && ctx.Err() == nil {
				a.log.Error("join gave up", "error", err)
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
				case <-g.Events():
					a.server.Nudge()
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

	opts := api.Options{Agent: a, Logger: a.log, ExtraHandlers: a.extra}
	if a.server != nil {
		opts.Cluster = a.server
	}
	a.api = api.NewServer(opts)
	a.http = &http.Server{Handler: a.api, ReadHeaderTimeout: 10 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "error", err)
		}
	}()
	a.log.Info("agent running", "http", "http://"+ln.Addr().String(), "ui", "http://"+ln.Addr().String()+"/ui/", "gossip", g.LocalAddr())

	select {
	case <-ctx.Done():
	case <-a.left:
	}
	a.log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
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
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
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
	c := api.NewClient(m.HTTPAddr, "")
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

// Leave implements api.Agent: a leader hands leadership over first, then
// the node leaves gossip (the leader removes a server that left from Raft)
// and the agent exits.
func (a *Agent) Leave(ctx context.Context) error {
	if a.server != nil && a.server.IsLeader() {
		if err := a.server.Raft().LeadershipTransfer().Error(); err != nil {
			a.log.Warn("leadership transfer failed", "error", err)
		}
	}
	if err := a.gossip.Leave(ctx); err != nil {
		return err
	}
	if a.server != nil {
		// Wait (bounded) until the new leader has removed us.
		for ctx.Err() == nil {
			peers, err := a.server.Peers()
			if err != nil {
				break
			}
			in := false
			for _, p := range peers {
				if p.ID == a.id {
					in = true
				}
			}
			if !in || len(peers) == 1 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	a.leaveOnce.Do(func() { go func() { time.Sleep(200 * time.Millisecond); close(a.left) }() })
	return nil
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

// Package testcluster starts in-process Allot server clusters for tests:
// real Raft (in-memory transport and stores, fast timeouts), real FSMs and
// epoch loops, real HTTP APIs on loopback, and a gossip view the test controls.
package testcluster

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Node is one in-process server.
type Node struct {
	ID     string
	Name   string
	Server *cluster.Server
	HTTP   *httptest.Server
	Trans  *raft.InmemTransport
	// DataDir holds the node's Raft log and snapshots (WithDataDir), so
	// Restart finds them again; "" keeps them in memory.
	DataDir string
	cfg     cluster.Config
	apiOpts api.Options
	cancel  context.CancelFunc
	down    bool
}

// Cluster is a set of nodes sharing one gossip view.
type Cluster struct {
	t     testing.TB
	log   hclog.Logger
	Nodes []*Node
	mu    sync.Mutex
	view  []gossip.Member
}

// Members implements cluster.Members and the API's agent view.
func (c *Cluster) Members() []gossip.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]gossip.Member, len(c.view))
	copy(out, c.view)
	return out
}

type agentView struct {
	c    *Cluster
	self *Node
}

func (a agentView) Self() api.Self {
	return api.Self{ID: a.self.ID, Name: a.self.Name, Server: true, Client: true, Role: "server+client"}
}
func (a agentView) Members() []gossip.Member         { return a.c.Members() }
func (a agentView) Join(addrs []string) (int, error) { return 0, fmt.Errorf("no gossip in tests") }
func (a agentView) Leave(ctx context.Context) error  { return fmt.Errorf("no gossip in tests") }

// Option changes how Start builds the cluster.
type Option func(*api.Options)

// WithACL turns ACLs on in every node's API.
func WithACL() Option { return func(o *api.Options) { o.ACLEnabled = true } }

// Start starts n servers that bootstrap with bootstrap-expect n.
func Start(t testing.TB, n int, epoch time.Duration, opts ...Option) *Cluster {
	t.Helper()
	return start(t, n, epoch, false, opts)
}

// StartOnDisk is Start with every node's Raft log and snapshots on disk
// (DATA_DIR/raft/raft.db in a temporary directory, as an agent with
// --data-dir), so a node can be killed, its files changed, and restarted
// with Restart.
func StartOnDisk(t testing.TB, n int, epoch time.Duration, opts ...Option) *Cluster {
	t.Helper()
	return start(t, n, epoch, true, opts)
}

func start(t testing.TB, n int, epoch time.Duration, onDisk bool, opts []Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) }) // runs after Stop: no logging into a finished test
	c.log = hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: w})
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("id-%d", i)
		node := &Node{ID: id, Name: fmt.Sprintf("n%d", i)}
		if onDisk {
			node.DataDir = t.TempDir()
		}
		node.cfg = cluster.Config{ID: id, Name: node.Name, DataDir: node.DataDir, BootstrapExpect: n, Heartbeat: 100 * time.Millisecond,
			Election: 100 * time.Millisecond, Epoch: epoch, BidTTL: 3, PlanHistory: 50, Options: bidding.DefaultOptions(), Logger: c.log}
		node.apiOpts = api.Options{Logger: c.log, NoLeaderWait: time.Second}
		for _, o := range opts {
			o(&node.apiOpts)
		}
		if err := c.build(node); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, node)
	}
	for _, a := range c.Nodes {
		for _, b := range c.Nodes {
			if a != b {
				a.Trans.Connect(raft.ServerAddress(b.ID), b.Trans)
			}
		}
		c.view = append(c.view, c.member(a))
	}
	for _, node := range c.Nodes {
		c.run(node)
	}
	t.Cleanup(c.Stop)
	return c
}

// build makes node's server (a new in-memory transport) and its API.
func (c *Cluster) build(node *Node) error {
	_, trans := raft.NewInmemTransport(raft.ServerAddress(node.ID))
	cfg := node.cfg
	cfg.Transport = trans
	srv, err := cluster.New(cfg)
	if err != nil {
		return err
	}
	node.Server, node.Trans = srv, trans
	ao := node.apiOpts
	ao.Cluster, ao.Agent = srv, agentView{c: c, self: node}
	node.HTTP = httptest.NewServer(api.NewServer(ao))
	return nil
}

func (c *Cluster) member(a *Node) gossip.Member {
	return gossip.Member{Meta: gossip.Meta{ID: a.ID, Name: a.Name, Server: true, Client: true, RaftAddr: a.ID,
		HTTPAddr: a.HTTP.Listener.Addr().String(), Capacity: [4]int64{4000, 8 << 30, 0, 0}}, Addr: "gossip-" + a.ID, Status: gossip.StatusAlive}
}

func (c *Cluster) run(node *Node) {
	ctx, cancel := context.WithCancel(context.Background())
	node.cancel = cancel
	node.Server.Run(ctx, c, func(ctx context.Context, m gossip.Member) (bool, error) { return false, nil })
}

// Restart starts a killed node again from its data dir (StartOnDisk): a
// new server process, as after a crash. It returns cluster.New's error (a
// corrupt data file, for example) instead of failing the test.
func (c *Cluster) Restart(n *Node) error {
	c.t.Helper()
	if !n.down {
		c.t.Fatalf("Restart: %s is running", n.Name)
	}
	if n.DataDir == "" {
		c.t.Fatalf("Restart: %s keeps its state in memory (use StartOnDisk)", n.Name)
	}
	if err := c.build(n); err != nil {
		return err
	}
	for _, o := range c.Nodes {
		if o != n && !o.down {
			o.Trans.Connect(raft.ServerAddress(n.ID), n.Trans)
			n.Trans.Connect(raft.ServerAddress(o.ID), o.Trans)
		}
	}
	n.down = false
	c.mu.Lock()
	for i := range c.view {
		if c.view[i].ID == n.ID {
			c.view[i] = c.member(n)
		}
	}
	c.mu.Unlock()
	c.run(n)
	return nil
}

// Stop shuts every node down.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		c.Kill(n)
	}
}

// Kill stops a node abruptly (its state is lost with it: in-memory).
func (c *Cluster) Kill(n *Node) {
	if n.down {
		return
	}
	n.down = true
	for _, o := range c.Nodes {
		o.Trans.Disconnect(raft.ServerAddress(n.ID))
	}
	n.Trans.DisconnectAll()
	n.HTTP.Close()
	n.cancel()
	_ = n.Server.Shutdown()
	c.mu.Lock()
	for i := range c.view {
		if c.view[i].ID == n.ID {
			c.view[i].Status = gossip.StatusFailed
		}
	}
	c.mu.Unlock()
}

// Partition cuts n off from every other node (both directions), or heals it.
func (c *Cluster) Partition(n *Node, cut bool) {
	for _, o := range c.Nodes {
		if o == n || o.down {
			continue
		}
		if cut {
			o.Trans.Disconnect(raft.ServerAddress(n.ID))
			n.Trans.Disconnect(raft.ServerAddress(o.ID))
		} else {
			o.Trans.Connect(raft.ServerAddress(n.ID), n.Trans)
			n.Trans.Connect(raft.ServerAddress(o.ID), o.Trans)
		}
	}
}

// Leader waits for a leader among the live nodes.
func (c *Cluster) Leader(timeout time.Duration) *Node {
	c.t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		for _, n := range c.Nodes {
			if !n.down && n.Server.IsLeader() {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %s", timeout)
	return nil
}

// Followers are the live non-leaders.
func (c *Cluster) Followers() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if !n.down && !n.Server.IsLeader() {
			out = append(out, n)
		}
	}
	return out
}

// Client returns an API client for a node.
func (n *Node) Client() *api.Client { return api.NewClient(n.HTTP.Listener.Addr().String(), "") }

// ClientWithToken returns an API client for a node that sends an ACL token.
func (n *Node) ClientWithToken(token string) *api.Client {
	return api.NewClient(n.HTTP.Listener.Addr().String(), token)
}

type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Logf("%s", p)
	}
	return len(p), nil
}

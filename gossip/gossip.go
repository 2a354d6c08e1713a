// Package gossip wraps hashicorp/memberlist: it advertises this node's
// metadata (ID, name, role, Raft and HTTP addresses, version, capacity),
// joins peers with retries, and turns membership changes into events for the
// cluster package. Gossip is advisory; Raft is the truth.
package gossip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// Meta is the metadata each node gossips (kept well under memberlist's 512 bytes).
type Meta struct {
	ID        string   `json:"id"`
	Name      string   `json:"n"`
	Server    bool     `json:"s,omitempty"`
	Client    bool     `json:"c,omitempty"`
	RaftAddr  string   `json:"r,omitempty"`
	HTTPAddr  string   `json:"h,omitempty"`
	Version   string   `json:"v,omitempty"`
	Capacity  [4]int64 `json:"cap,omitempty"`
	Bootstrap int      `json:"be,omitempty"` // bootstrap_expect of a server
	Leaving   bool     `json:"l,omitempty"`  // set just before a graceful leave
}

// Status of a member as gossip sees it.
const (
	StatusAlive   = "alive"
	StatusSuspect = "suspect"
	StatusFailed  = "failed"
	StatusLeft    = "left"
)

// Member is one node as gossip sees it.
type Member struct {
	Meta
	Addr   string `json:"address"` // gossip IP:port
	Status string `json:"status"`
}

// Role is "server", "client" or "server+client".
func (m Member) Role() string {
	switch {
	case m.Server && m.Client:
		return "server+client"
	case m.Server:
		return "server"
	case m.Client:
		return "client"
	}
	return "none"
}

// EventType says what happened to a member.
type EventType int

// Event types.
const (
	EventJoin EventType = iota
	EventLeave
	EventUpdate
)

// Event is a membership change.
type Event struct {
	Type   EventType
	Member Member
}

// Config configures the gossip layer.
type Config struct {
	Meta          Meta
	BindAddr      string
	BindPort      int
	AdvertiseAddr string // required when BindAddr is unspecified (0.0.0.0)
	AdvertisePort int
	SecretKey     []byte // 32 bytes, or nil
	Logger        hclog.Logger
	// LAN timing by default; Fast shortens probes for tests.
	Fast bool
}

// Gossip is a running memberlist with Allot metadata.
type Gossip struct {
	ml        *memberlist.Memberlist
	localAddr string
	log       hclog.Logger
	events    chan Event

	mu      sync.Mutex
	meta    Meta
	members map[string]Member // by ID, kept from memberlist's callbacks (which hold its lock)
}

// New starts memberlist. Events arrive on Events(); when the buffer is full
// they are dropped (the cluster's periodic full pass catches up).
func New(cfg Config) (*Gossip, error) {
	if cfg.Meta.ID == "" {
		return nil, fmt.Errorf("gossip: node ID is required")
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	g := &Gossip{log: log.Named("gossip"), events: make(chan Event, 256), meta: cfg.Meta, members: map[string]Member{}}
	mc := memberlist.DefaultLANConfig()
	if cfg.Fast {
		mc = memberlist.DefaultLocalConfig()
		mc.ProbeInterval = 200 * time.Millisecond
		mc.ProbeTimeout = 100 * time.Millisecond
		mc.GossipInterval = 50 * time.Millisecond
		mc.SuspicionMult = 2
	}
	mc.Name = cfg.Meta.ID
	// Node IDs are permanent (kept in the data dir), so one that comes back
	// at a new address is the same node moved: let it reclaim its name as
	// soon as the old address is declared dead, instead of "conflicting
	// address" forever.
	mc.DeadNodeReclaimTime = time.Second
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = cfg.BindPort
	adv := cfg.AdvertiseAddr
	if adv == "" {
		ip := net.ParseIP(cfg.BindAddr)
		if ip == nil || ip.IsUnspecified() {
			return nil, fmt.Errorf("gossip: bind address %s is unspecified: set --advertise to an address other nodes can reach", cfg.BindAddr)
		}
		adv = cfg.BindAddr
	}
	mc.AdvertiseAddr = adv
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	mc.SecretKey = cfg.SecretKey
	mc.Delegate = (*delegate)(g)
	mc.Events = (*eventDelegate)(g)
	mc.Alive = (*aliveDelegate)(g)
	mc.Merge = (*mergeDelegate)(g)
	mc.Logger = g.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("starting gossip on %s:%d: %w", cfg.BindAddr, cfg.BindPort, err)
	}
	g.ml = ml
	// Read once: LocalNode points into memberlist's state, which UpdateNode
	// (a metadata change, e.g. a leave) rewrites under its own lock.
	n := ml.LocalNode()
	g.localAddr = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	return g, nil
}

// LocalAddr is the gossip address this node advertises.
func (g *Gossip) LocalAddr() string { return g.localAddr }

// Events delivers membership changes.
func (g *Gossip) Events() <-chan Event { return g.events }

// Join contacts the given addresses once; it succeeds if any answered.
func (g *Gossip) Join(addrs []string) (int, error) {
	n, err := g.ml.Join(addrs)
	if n > 0 {
		return n, nil
	}
	reason := "no node answered"
	if err != nil && strings.Contains(err.Error(), ErrNameConflict.Error()) {
		return 0, fmt.Errorf("joining %s: %w", strings.Join(addrs, ", "), conflictOf(err))
	}
	if err != nil {
		// memberlist returns a multi-line multierror: keep one line per address
		var parts []string
		for _, l := range strings.Split(err.Error(), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "* ") {
				parts = append(parts, strings.TrimPrefix(l, "* "))
			}
		}
		if len(parts) > 0 {
			reason = strings.Join(parts, "; ")
		} else {
			reason = strings.Join(strings.Fields(err.Error()), " ")
		}
	}
	if l := strings.ToLower(reason); strings.Contains(l, "decrypt") || strings.Contains(l, "encrypt") {
		// An agent answered, but the keys differ: say so, not "no agent".
		return 0, fmt.Errorf("joining %s: the gossip encryption key (gossip.encrypt, --encrypt, ALLOT_GOSSIP_ENCRYPT) differs from the cluster's: %s", strings.Join(addrs, ", "), reason)
	}
	return 0, fmt.Errorf("no Allot agent answered at %s (expected a gossip address, port 7481 by default): %s", strings.Join(addrs, ", "), reason)
}

// JoinRetry keeps trying to join until one address answers or ctx ends,
// with a jittered, growing wait between attempts.
func (g *Gossip) JoinRetry(ctx context.Context, addrs []string) error {
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		n, err := g.Join(addrs)
		if err == nil {
			g.log.Info("joined cluster", "contacted", n, "attempts", attempt)
			return nil
		}
		if errors.Is(err, ErrNameConflict) {
			return err // retrying cannot help while the other node lives
		}
		g.log.Warn("join failed, retrying", "error", err, "attempt", attempt)
		jitter := time.Duration(rand.Int64N(int64(wait) / 2))
		select {
		case <-ctx.Done():
			return fmt.Errorf("joining %v: %w", addrs, ctx.Err())
		case <-time.After(wait + jitter):
		}
		if wait < 10*time.Second {
			wait *= 2
		}
	}
}

// Members returns all known members sorted by name: the live ones and
// those that failed or left since this node started.
func (g *Gossip) Members() []Member {
	g.mu.Lock()
	out := make([]Member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func toMember(n *memberlist.Node) (Member, bool) {
	var meta Meta
	if err := json.Unmarshal(n.Meta, &meta); err != nil || meta.ID == "" {
		return Member{}, false
	}
	st := StatusAlive
	switch n.State {
	case memberlist.StateSuspect:
		st = StatusSuspect
	case memberlist.StateDead:
		st = StatusFailed
	case memberlist.StateLeft:
		st = StatusLeft
	}
	return Member{Meta: meta, Addr: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))), Status: st}, true
}

// UpdateMeta changes this node's metadata and gossips it.
func (g *Gossip) UpdateMeta(fn func(*Meta)) error {
	g.mu.Lock()
	fn(&g.meta)
	g.mu.Unlock()
	return g.ml.UpdateNode(5 * time.Second)
}

// Leave announces a graceful leave and waits (bounded by ctx) for it to spread.
func (g *Gossip) Leave(ctx context.Context) error {
	d := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	if err := g.UpdateMeta(func(m *Meta) { m.Leaving = true }); err != nil {
		g.log.Warn("could not announce leaving", "error", err)
	}
	if err := g.ml.Leave(d); err != nil {
		return fmt.Errorf("leaving gossip: %w", err)
	}
	return nil
}

// Shutdown stops gossip without announcing a leave.
func (g *Gossip) Shutdown() error { return g.ml.Shutdown() }

func (g *Gossip) emit(t EventType, n *memberlist.Node) {
	m, ok := toMember(n)
	if !ok {
		return
	}
	if t == EventLeave {
		// memberlist does not expose left vs dead in the callback, so a
		// leaving node flags itself in its metadata first.
		m.Status = StatusFailed
		if m.Leaving {
			m.Status = StatusLeft
		}
	}
	g.mu.Lock()
	g.members[m.ID] = m
	g.mu.Unlock()
	select {
	case g.events <- Event{Type: t, Member: m}:
	default:
		g.log.Debug("event queue full, dropping event", "node", m.Name)
	}
}

type eventDelegate Gossip

func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { (*Gossip)(e).emit(EventJoin, n) }
func (e *eventDelegate) NotifyLeave(n *memberlist.Node)  { (*Gossip)(e).emit(EventLeave, n) }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { (*Gossip)(e).emit(EventUpdate, n) }

type delegate Gossip

func (d *delegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := json.Marshal(d.meta)
	if err != nil || len(b) > limit {
		d.log.Error("node metadata does not fit", "bytes", len(b), "limit", limit)
		return nil
	}
	return b
}
func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

// Package cluster runs a server's Raft node: storage, transport, bootstrap,
// the leader's reconcile and epoch loops, and the write path into the log.
// It calls bidding to solve and never decides allocations itself.
package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/tlsutil"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Config configures a server.
type Config struct {
	ID              string // permanent node ID: Raft ServerID and gossip name
	Name            string
	DataDir         string // "" keeps Raft in memory (dev mode, tests)
	BindAddr        string
	RaftPort        int
	AdvertiseAddr   string
	BootstrapExpect int
	Heartbeat       time.Duration
	Election        time.Duration
	Epoch           time.Duration
	BidTTL          uint64
	PlanHistory     int
	// PlanHistoryBytes bounds the kept plans' size (0: the fsm default).
	PlanHistoryBytes int64
	Options          bidding.Options
	// Group commit of bid writes (batch.go): how long a request may wait
	// for others (0: DefaultBatchWait; negative: off, one entry per
	// request) and the most bids in one entry (0: DefaultBatchBids).
	BatchWait time.Duration
	BatchBids int
	// WholePlanEntries makes the leader commit every plan whole
	// (commit-plan) instead of as a delta against the latest plan
	// (commit-plan-delta, leader.go): what a build from before the delta
	// entries can read, and the benchmark's side-by-side baseline.
	WholePlanEntries bool
	// RedialEvery is how often replication redials a follower that cannot
	// be reached instead of raft's growing backoff (redial.go); 0:
	// DefaultRedialEvery, negative: raft's own backoff. Only for the TCP and
	// TLS transports.
	RedialEvery time.Duration
	// Membership (reconcile.go): how long a new server must stay alive as a
	// non-voter before promotion, how long a failed server stays in the
	// configuration, the fewest voters automatic removal may leave, and the
	// full-pass interval. Zero means the package default.
	StabilizationTime time.Duration
	DeadServerGrace   time.Duration
	MinQuorum         int
	ReconcileInterval time.Duration
	// Raft log compaction (cluster/DESIGN.md, "Log and snapshot sizing"):
	// entries between snapshots, how often that count is checked, and the
	// entries kept behind a snapshot. Zero means the package default.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// LogBudgetFloor is the floor of the log's byte budget (logbudget.go):
	// 0 means MinLogBudget, negative turns the budget off (raft's entry
	// bounds only; the benchmark's side-by-side baseline).
	LogBudgetFloor int64
	Logger         hclog.Logger
	// Transport, if set, replaces the TCP transport (in-memory tests).
	Transport raft.Transport
	// TLS, if set, makes the TCP transport mutual TLS (cluster/tls.go):
	// only peers with a server certificate of the same CA are accepted.
	TLS *tlsutil.Certs
}

// Raft log compaction defaults (DESIGN.md "Log and snapshot sizing").
const (
	DefaultSnapshotThreshold = 8192
	DefaultSnapshotInterval  = 60 * time.Second
	DefaultTrailingLogs      = 16384
)

// Members is the gossip view the cluster reconciles from (consumed interface).
type Members interface {
	Members() []gossip.Member
}

// PeerProber asks another server whether it already has a Raft configuration.
type PeerProber func(ctx context.Context, m gossip.Member) (configured bool, err error)

// Server is one Raft server with Allot's FSM.
type Server struct {
	cfg       Config
	log       hclog.Logger
	raft      *raft.Raft
	fsm       *fsm.FSM
	solver    bidding.Solver // keeps its scratch memory between epochs
	transport raft.Transport
	closers   []io.Closer
	notify    chan bool

	members Members
	prober  PeerProber
	events  chan struct{} // nudges the reconcile loop
	// memberEvents queues the IDs of members gossip saw change (non-blocking, see Enqueue).
	memberEvents chan string
	lastRefusal  string

	mu           sync.Mutex
	bootstrapped bool
	// removed holds when each server was removed by request (RemovePeer,
	// as `allot leave` asks): the reconciler does not add it back while
	// gossip may still show it alive without its leaving flag.
	removed map[string]time.Time
	// explained is the latest solve's explanations (explain.go).
	explained *explained
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	// batch is the group commit of bids (nil: off); stopBatch ends it.
	batch     *batcher
	stopBatch context.CancelFunc
	// redial wraps the TCP or TLS transport (nil with Config.Transport).
	redial *redialTransport
	// logSizes and snaps feed the log's byte budget (logbudget.go; nil in
	// memory).
	logSizes *logSizes
	snaps    raft.SnapshotStore
	disk     diskProbe // DiskWritable (disk.go)
}

// ErrNotLeader is returned for writes on a follower.
var ErrNotLeader = errors.New("not the leader")

// RejectedError is a command the FSM refused; the caller's input was invalid.
type RejectedError struct{ Err error }

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// New opens storage and starts Raft. Call Run to start the background loops.
func New(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	s := &Server{cfg: cfg, log: log.Named("cluster"), fsm: fsm.New(), notify: make(chan bool, 16), events: make(chan struct{}, 1), memberEvents: make(chan string, 256)}
	s.watchDivergence()
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	if cfg.Heartbeat > 0 {
		rc.HeartbeatTimeout = cfg.Heartbeat
		rc.LeaderLeaseTimeout = cfg.Heartbeat
	}
	if cfg.Election > 0 {
		rc.ElectionTimeout = cfg.Election
	}
	rc.CommitTimeout = 20 * time.Millisecond
	// Sized for bid-heavy logs (cluster/DESIGN.md, "Log and snapshot
	// sizing"): up to raft's maximum batch per AppendEntries, a snapshot
	// every 8192 entries (snapshots no longer stall applies, fsm/DESIGN.md),
	// and 16384 entries kept behind it so a follower that was away for a
	// few epochs catches up from the log instead of a snapshot transfer.
	rc.MaxAppendEntries = 1024
	rc.SnapshotThreshold = cmp.Or(cfg.SnapshotThreshold, DefaultSnapshotThreshold)
	rc.TrailingLogs = cmp.Or(cfg.TrailingLogs, DefaultTrailingLogs)
	rc.SnapshotInterval = cmp.Or(cfg.SnapshotInterval, DefaultSnapshotInterval)
	rc.ShutdownOnRemove = false
	rc.NotifyCh = s.notify
	rc.Logger = log.Named("raft")

	var logs raft.LogStore
	var stable raft.StableStore
	var snaps raft.SnapshotStore
	if cfg.DataDir == "" {
		st := raft.NewInmemStore()
		logs, stable, snaps = st, st, raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(cfg.DataDir, "raft")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating raft dir: %w", err)
		}
		removeTempSnapshots(dir, s.log)
		fss, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, log.Named("snapshot"))
		if err != nil {
			return nil, fmt.Errorf("opening snapshot store: %w", err)
		}
		snaps = fss
		s.snaps = fss
		first, sizes, err := verifyLogStore(filepath.Join(dir, "raft.db"), newestSnapshotIndex(fss))
		if err != nil {
			return nil, err
		}
		bolt, err := openLogStore(filepath.Join(dir, "raft.db"))
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, bolt)
		cache, err := newLogCache(bolt, LogCacheEntries, LogCacheBytes)
		if err != nil {
			return nil, fmt.Errorf("creating log cache: %w", err)
		}
		s.logSizes = newLogSizes(cache, first, sizes)
		logs, stable = s.logSizes, bolt
	}
	trans := cfg.Transport
	var netTrans *raft.NetworkTransport // the TCP or TLS transport this server built
	if trans == nil && cfg.TLS != nil {
		bind := net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.RaftPort))
		nt, err := newTLSTransport(bind, cfg.AdvertiseAddr, cfg.TLS, log)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("starting raft TLS transport on %s: %w", bind, err)
		}
		trans, netTrans = nt, nt
		s.closers = append(s.closers, nt)
	}
	if trans == nil {
		bind := net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.RaftPort))
		adv, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(cfg.AdvertiseAddr, strconv.Itoa(cfg.RaftPort)))
		if err != nil {
			return nil, fmt.Errorf("raft advertise address: %w", err)
		}
		tcp, err := raft.NewTCPTransportWithLogger(bind, adv, 3, 10*time.Second, log.Named("raft-net"))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("starting raft transport on %s: %w", bind, err)
		}
		trans, netTrans = tcp, tcp
		s.closers = append(s.closers, tcp)
	}
	if netTrans != nil && cfg.RedialEvery >= 0 {
		s.redial = newRedialTransport(netTrans, cfg.RedialEvery)
		trans = s.redial
	}
	s.transport = trans
	if cfg.DataDir != "" {
		if err := recoverPeers(rc, logs, stable, snaps, trans, filepath.Join(cfg.DataDir, "raft"), s.log); err != nil {
			s.close()
			return nil, err
		}
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, stable, snaps, trans)
	if err != nil {
		s.close()
		if cfg.DataDir != "" && strings.Contains(err.Error(), "snapshot") {
			return nil, &CorruptError{File: filepath.Join(cfg.DataDir, "raft", "snapshots"), Err: err}
		}
		return nil, fmt.Errorf("starting raft: %w", err)
	}
	s.raft = r
	if s.redial != nil {
		s.redial.raft.Store(r)
	}
	s.startBatcher(cfg)
	return s, nil
}

// RaftAddr is the address other servers reach this one's Raft at.
func (s *Server) RaftAddr() string { return string(s.transport.LocalAddr()) }

// FSM exposes the replicated state for reads.
func (s *Server) FSM() *fsm.FSM { return s.fsm }

// Raft exposes the Raft node (for tests and operator commands).
func (s *Server) Raft() *raft.Raft { return s.raft }

// Run starts the bootstrap, leadership and reconcile loops; they stop with ctx or Shutdown.
func (s *Server) Run(ctx context.Context, members Members, prober PeerProber) {
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.members, s.prober = members, prober
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.bootstrapLoop(ctx) }()
	go func() { defer s.wg.Done(); s.monitorLeadership(ctx) }()
	if s.logSizes != nil && s.cfg.LogBudgetFloor >= 0 {
		b := &logBudget{raft: s.raft, sizes: s.logSizes, snaps: s.snaps, trailing: s.raft.ReloadableConfig().TrailingLogs,
			floor: cmp.Or(s.cfg.LogBudgetFloor, MinLogBudget), minGap: logBudgetMinGap}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.logBudgetLoop(ctx, b) }()
	}
}

// Nudge tells the leader's reconcile loop that membership changed. It never blocks.
func (s *Server) Nudge() {
	select {
	case s.events <- struct{}{}:
	default:
	}
}

// Shutdown stops the loops and Raft, then closes storage.
func (s *Server) Shutdown() error {
	if s.cancel != nil {
		s.cancel()
	}
	if s.stopBatch != nil {
		s.stopBatch()
	}
	s.wg.Wait()
	if s.redial != nil {
		s.redial.shutdown()
	}
	err := s.raft.Shutdown().Error()
	s.close()
	return err
}

func (s *Server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i].Close()
	}
	s.closers = nil
}

// IsLeader reports whether this server is the leader.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the leader's Raft address and ID ("" when none is known).
func (s *Server) Leader() (addr, id string) {
	a, i := s.raft.LeaderWithID()
	return string(a), string(i)
}

// Peer is one entry of the Raft configuration.
type Peer struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
}

// Peers returns the Raft configuration, sorted by ID.
func (s *Server) Peers() ([]Peer, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("reading raft configuration: %w", err)
	}
	_, lid := s.raft.LeaderWithID()
	names := map[string]string{}
	for _, m := range s.fsm.Members() {
		names[m.ID] = m.Name
	}
	if s.members != nil {
		for _, m := range s.members.Members() {
			names[m.ID] = m.Name
		}
	}
	var out []Peer
	for _, sv := range f.Configuration().Servers {
		out = append(out, Peer{ID: string(sv.ID), Name: names[string(sv.ID)], Address: string(sv.Address), Voter: sv.Suffrage == raft.Voter, Leader: sv.ID == lid})
	}
	sortPeers(out)
	return out, nil
}

// HasConfiguration reports whether this server has any Raft configuration (bootstrapped or joined).
func (s *Server) HasConfiguration() bool {
	f := s.raft.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

// RemovePeer removes a server from the Raft configuration (leader only).
func (s *Server) RemovePeer(ctx context.Context, id string) error {
	peers, err := s.Peers()
	if err != nil {
		return err
	}
	found, voters := false, 0
	for _, p := range peers {
		if p.Voter {
			voters++
		}
		if p.ID == id || p.Name == id {
			found = true
			id = p.ID
		}
	}
	if !found {
		return &RejectedError{Err: fmt.Errorf("id: %q is not in the raft configuration", id)}
	}
	if voters <= 1 {
		return &RejectedError{Err: fmt.Errorf("id: %q is the last voter; removing it would leave no cluster", id)}
	}
	if !s.IsLeader() {
		return ErrNotLeader
	}
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, timeout(ctx)).Error(); err != nil {
		return fmt.Errorf("removing %s from raft: %w", id, err)
	}
	s.mu.Lock()
	if s.removed == nil {
		s.removed = map[string]time.Time{}
	}
	s.removed[id] = time.Now()
	s.mu.Unlock()
	return nil
}

// takeRemoved hands the removals made since the last call to the
// reconciler, which holds them (see tracker.removedAt).
func (s *Server) takeRemoved() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.removed
	s.removed = nil
	return out
}

// Apply writes a command through Raft and returns its log index. It fails
// with ErrNotLeader on a follower and with *RejectedError if the FSM refused it.
func (s *Server) Apply(ctx context.Context, t fsm.CommandType, payload any) (uint64, error) {
	data, err := fsm.Encode(t, payload)
	if err != nil {
		return 0, err
	}
	if !s.IsLeader() {
		return 0, ErrNotLeader
	}
	f := s.raft.Apply(data, timeout(ctx))
	if err := f.Error(); err != nil {
		return 0, applyError(t, err)
	}
	if rerr, ok := f.Response().(error); ok && rerr != nil {
		return f.Index(), &RejectedError{Err: rerr}
	}
	return f.Index(), nil
}

// ConsistentRead confirms, through the log, that this server still leads and
// that every entry committed before the call is applied here. A leader cut
// off from the majority cannot commit the barrier and fails (ErrNotLeader).
func (s *Server) ConsistentRead(ctx context.Context) error {
	if !s.IsLeader() {
		return ErrNotLeader
	}
	if err := s.raft.Barrier(timeout(ctx)).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return ErrNotLeader
		}
		return fmt.Errorf("confirming leadership: %w", err)
	}
	return nil
}

// Barrier waits until every entry up to now is applied here (leader only).
func (s *Server) Barrier(ctx context.Context) error {
	return s.raft.Barrier(timeout(ctx)).Error()
}

// Stats returns Raft's own statistics.
// Stats is raft's, plus the log's size as the byte budget sees it
// (logbudget.go): "log_bytes", the entries' bytes (on disk only), and
// "trailing_logs", the entries a compaction currently keeps.
func (s *Server) Stats() map[string]string {
	st := s.raft.Stats()
	st["trailing_logs"] = strconv.FormatUint(s.raft.ReloadableConfig().TrailingLogs, 10)
	if s.logSizes != nil {
		st["log_bytes"] = strconv.FormatInt(s.logSizes.after(0), 10)
	}
	return st
}

func timeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d > 0 {
			return d
		}
		return time.Millisecond
	}
	return 10 * time.Second
}

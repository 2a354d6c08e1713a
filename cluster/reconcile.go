package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/raft"
)

// Membership defaults (see cluster/DESIGN.md, "Membership and failover").
const (
	DefaultStabilizationTime = 10 * time.Second
	DefaultDeadServerGrace   = 5 * time.Minute
	DefaultMinQuorum         = 3
	DefaultReconcileInterval = time.Second
)

// Enqueue hands a gossip membership change to the leader's reconcile loop.
// It never blocks: when the queue is full the event is dropped and the
// periodic full pass picks the change up.
func (s *Server) Enqueue(m gossip.Member) {
	select {
	case s.memberEvents <- m.ID:
	default:
		s.Nudge()
	}
}

func (s *Server) stabilization() time.Duration {
	if s.cfg.StabilizationTime > 0 {
		return s.cfg.StabilizationTime
	}
	return DefaultStabilizationTime
}

func (s *Server) deadGrace() time.Duration {
	if s.cfg.DeadServerGrace > 0 {
		return s.cfg.DeadServerGrace
	}
	return DefaultDeadServerGrace
}

func (s *Server) minQuorum() int {
	if s.cfg.MinQuorum > 0 {
		return s.cfg.MinQuorum
	}
	return DefaultMinQuorum
}

// reconcileLoop runs on the leader only. It drains the event queue (one
// member at a time, cheap) and does a full pass over every gossip member and
// every Raft entry on each tick. Its timers live in a tracker that starts
// empty with each term of leadership, so a new leader waits a full grace
// before it removes anyone.
func (s *Server) reconcileLoop(ctx context.Context) {
	iv := s.cfg.ReconcileInterval
	if iv <= 0 {
		iv = DefaultReconcileInterval
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	tr := newTracker(time.Now())
	for {
		s.reconcile(ctx, tr, "")
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-s.events:
			case id := <-s.memberEvents:
				s.reconcile(ctx, tr, id)
				continue
			}
			break
		}
	}
}

// tracker remembers, per server ID, since when the leader has seen it alive
// (for promotion) or failed/absent (for dead-server removal).
type tracker struct {
	start       time.Time
	aliveSince  map[string]time.Time
	failedSince map[string]time.Time
	// removedAt: servers removed by request (RemovePeer, as a graceful
	// leave asks) that gossip has shown alive ever since. They are not
	// added back until gossip shows them gone once (left, failed: a
	// restart then rejoins at once) or removalHold has passed.
	removedAt map[string]time.Time
	// selfTransfer: when this leader last handed its leadership over
	// because its own entry names an old address (selfMoved).
	selfTransfer time.Time
}

// selfTransferRetry is how long a leader whose own entry is stale waits
// before trying to hand its leadership over again (no other voter could
// take it).
const selfTransferRetry = 10 * time.Second

// selfMoved reports the address the configuration holds for this server
// (self) when it is not addr, the one it is reached at now: a server
// recreated with a new address on its old data that won the election back.
func selfMoved(conf []raft.Server, self, addr string) (string, bool) {
	for _, sv := range conf {
		if string(sv.ID) == self {
			return string(sv.Address), addr != "" && string(sv.Address) != addr
		}
	}
	return "", false
}

func newTracker(now time.Time) *tracker {
	return &tracker{start: now, aliveSince: map[string]time.Time{}, failedSince: map[string]time.Time{}, removedAt: map[string]time.Time{}}
}

// actionKind is one change the reconciler makes to the Raft configuration.
type actionKind int

const (
	actAddNonvoter actionKind = iota // new server, or a known one at a new address (keeps its suffrage)
	actPromote                       // non-voter stable for long enough
	actRemove                        // left, dead past the grace, or a stale entry at a reused address
)

func (k actionKind) String() string {
	return [...]string{"add-nonvoter", "promote", "remove"}[k]
}

type action struct {
	Kind   actionKind
	ID     string
	Addr   string
	Reason string
}

// policy holds the knobs decide needs.
type policy struct {
	Self      string
	Stable    time.Duration
	Grace     time.Duration
	MinQuorum int
}

// removalHold bounds how long a server removed by request is not added
// back while gossip still shows it alive (its leaving flag not yet here):
// far longer than the flag takes to spread, short enough that a server
// removed by mistake rejoins by itself.
const removalHold = 30 * time.Second

// decide compares gossip with the Raft configuration and returns the changes
// to make, in a fixed order. It is pure apart from updating tr, so tests
// drive it with a fake clock. When only is set, it looks at that ID alone
// and never removes dead servers (that is the full pass's job).
func decide(now time.Time, p policy, members []gossip.Member, conf []raft.Server, tr *tracker, only string) (acts []action, refused string) {
	inRaft := map[string]raft.Server{}
	byAddr := map[string]raft.Server{}
	voters := 0
	for _, sv := range conf {
		inRaft[string(sv.ID)] = sv
		byAddr[string(sv.Address)] = sv
		if sv.Suffrage == raft.Voter {
			voters++
		}
	}
	seen := map[string]bool{}
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	for _, m := range members {
		if !m.Server || m.RaftAddr == "" || m.ID == p.Self || (only != "" && m.ID != only) {
			continue
		}
		seen[m.ID] = true
		cur, ok := inRaft[m.ID]
		status := m.Status
		if m.Leaving && status != gossip.StatusFailed {
			status = gossip.StatusLeft // announced a graceful leave: never (re-)add it
		}
		if at, held := tr.removedAt[m.ID]; held && (status != gossip.StatusAlive || now.Sub(at) >= removalHold) {
			delete(tr.removedAt, m.ID)
		}
		switch status {
		case gossip.StatusAlive:
			delete(tr.failedSince, m.ID)
			if _, ok := tr.aliveSince[m.ID]; !ok {
				tr.aliveSince[m.ID] = now
			}
			if other, taken := byAddr[m.RaftAddr]; taken && string(other.ID) != m.ID && string(other.ID) != p.Self {
				// Another ID holds this address: a node wiped and restarted
				// with a fresh ID. The old entry is gone for good.
				acts = append(acts, action{actRemove, string(other.ID), string(other.Address), "its address now belongs to " + m.Name})
				if other.Suffrage == raft.Voter {
					voters--
				}
			}
			switch {
			case !ok && !tr.removedAt[m.ID].IsZero():
				// Removed by request moments ago: its leaving flag has not
				// reached us yet. Adding it back would undo its leave.
			case !ok:
				acts = append(acts, action{actAddNonvoter, m.ID, m.RaftAddr, "new server " + m.Name})
				tr.aliveSince[m.ID] = now // stability counts from the add
			case string(cur.Address) != m.RaftAddr:
				acts = append(acts, action{actAddNonvoter, m.ID, m.RaftAddr, fmt.Sprintf("%s moved from %s", m.Name, cur.Address)})
			case cur.Suffrage != raft.Voter && now.Sub(tr.aliveSince[m.ID]) >= p.Stable:
				acts = append(acts, action{actPromote, m.ID, m.RaftAddr, fmt.Sprintf("%s stable for %s", m.Name, now.Sub(tr.aliveSince[m.ID]).Round(time.Millisecond))})
			}
		case gossip.StatusSuspect:
			delete(tr.aliveSince, m.ID) // promotion waits for a clean, stable run
		case gossip.StatusFailed:
			delete(tr.aliveSince, m.ID)
			if _, ok := tr.failedSince[m.ID]; !ok {
				tr.failedSince[m.ID] = now
			}
		case gossip.StatusLeft:
			delete(tr.aliveSince, m.ID)
			delete(tr.failedSince, m.ID)
			if ok {
				if cur.Suffrage == raft.Voter && voters <= 1 {
					refused = "not removing " + m.Name + ": it is the last voter"
					continue
				}
				acts = append(acts, action{actRemove, m.ID, string(cur.Address), m.Name + " left"})
				if cur.Suffrage == raft.Voter {
					voters--
				}
			}
		}
	}
	if only != "" {
		return acts, refused
	}
	// Raft entries gossip does not know at all count as failed from the
	// moment this leader noticed.
	for _, sv := range conf {
		id := string(sv.ID)
		if id == p.Self || seen[id] {
			continue
		}
		if _, ok := tr.failedSince[id]; !ok {
			tr.failedSince[id] = now
		}
	}
	// Dead servers past the grace: never more than (voters-1)/2 voters at
	// once (more dead than that means a partition or a lost quorum, which
	// removal would only make worse), and never below MinQuorum voters.
	var deadVoters, deadOthers []raft.Server
	for _, sv := range conf {
		id := string(sv.ID)
		since, failed := tr.failedSince[id]
		if !failed || id == p.Self || now.Sub(since) < p.Grace {
			continue
		}
		if removed(acts, id) {
			continue
		}
		if sv.Suffrage == raft.Voter {
			deadVoters = append(deadVoters, sv)
		} else {
			deadOthers = append(deadOthers, sv)
		}
	}
	for _, sv := range deadOthers {
		acts = append(acts, action{actRemove, string(sv.ID), string(sv.Address), fmt.Sprintf("non-voter failed for more than %s", p.Grace)})
	}
	if len(deadVoters) > 0 {
		switch {
		case len(deadVoters) > (voters-1)/2:
			refused = fmt.Sprintf("not removing %d dead voter(s) of %d: more than (voters-1)/2 = %d at once", len(deadVoters), voters, (voters-1)/2)
		default:
			for _, sv := range deadVoters {
				if voters-1 < p.MinQuorum {
					refused = fmt.Sprintf("not removing dead voter %s: %d voters would fall below min_quorum %d", sv.ID, voters-1, p.MinQuorum)
					break
				}
				acts = append(acts, action{actRemove, string(sv.ID), string(sv.Address), fmt.Sprintf("voter failed for more than %s", p.Grace)})
				voters--
			}
		}
	}
	return acts, refused
}

func removed(acts []action, id string) bool {
	for _, a := range acts {
		if a.Kind == actRemove && a.ID == id {
			return true
		}
	}
	return false
}

// reconcile runs one pass: member records into the FSM, then decide and apply
// the Raft configuration changes. only != "" limits it to one member.
func (s *Server) reconcile(ctx context.Context, tr *tracker, only string) {
	if s.members == nil || ctx.Err() != nil {
		return
	}
	members := s.members.Members()
	s.recordMembers(ctx, members, only)
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return
	}
	for id, at := range s.takeRemoved() {
		tr.removedAt[id] = at
	}
	// A leader cannot replace its own entry: one that names an old address
	// hands the leadership over, and the next leader replaces the entry as
	// any moved server's (decide). Left stale, the entry would send every
	// follower to an address nobody answers once this server steps down.
	now := time.Now()
	if old, moved := selfMoved(cf.Configuration().Servers, s.cfg.ID, s.RaftAddr()); moved && only == "" && now.Sub(tr.selfTransfer) >= selfTransferRetry {
		tr.selfTransfer = now
		if err := s.raft.LeadershipTransfer().Error(); err != nil {
			s.log.Warn("reconcile: this leader's own raft entry names an old address and no other server could take the leadership", "entry", old, "address", s.RaftAddr(), "error", err)
		} else {
			s.log.Info("reconcile: this leader's own raft entry named an old address: handed the leadership over", "entry", old, "address", s.RaftAddr())
			return
		}
	}
	pol := policy{Self: s.cfg.ID, Stable: s.stabilization(), Grace: s.deadGrace(), MinQuorum: s.minQuorum()}
	acts, refused := decide(now, pol, members, cf.Configuration().Servers, tr, only)
	if refused != "" && refused != s.lastRefusal {
		s.log.Warn("reconcile: " + refused)
	}
	s.lastRefusal = refused
	latest := cf.Index()
	for _, a := range acts {
		if ctx.Err() != nil || !s.IsLeader() {
			return
		}
		s.log.Info("reconcile: changing raft configuration", "action", a.Kind.String(), "id", a.ID, "address", a.Addr, "why", a.Reason)
		var f raft.IndexFuture
		switch a.Kind {
		case actAddNonvoter:
			f = s.raft.AddNonvoter(raft.ServerID(a.ID), raft.ServerAddress(a.Addr), latest, 5*time.Second)
		case actPromote:
			f = s.raft.AddVoter(raft.ServerID(a.ID), raft.ServerAddress(a.Addr), latest, 5*time.Second)
		case actRemove:
			f = s.raft.RemoveServer(raft.ServerID(a.ID), latest, 5*time.Second)
		}
		if err := f.Error(); err != nil {
			// ErrConfigurationChanged etc.: the next pass starts afresh.
			s.log.Warn("reconcile: raft configuration change failed", "action", a.Kind.String(), "id", a.ID, "error", err)
			return
		}
		latest = f.Index()
	}
}

// recordMembers keeps the replicated member records in step with gossip;
// a failed member stays recorded (marked failed, i.e. unhealthy).
func (s *Server) recordMembers(ctx context.Context, members []gossip.Member, only string) {
	records := map[string]fsm.Member{}
	for _, m := range s.fsm.Members() {
		records[m.ID] = m
	}
	for _, m := range members {
		if ctx.Err() != nil {
			return
		}
		if only != "" && m.ID != only {
			continue
		}
		if m.Status == gossip.StatusSuspect {
			continue // transient; recorded once it settles
		}
		rec := fsm.Member{ID: m.ID, Name: m.Name, Server: m.Server, Client: m.Client, RaftAddr: m.RaftAddr,
			HTTPAddr: m.HTTPAddr, GossipAddr: m.Addr, Version: m.Version, Status: m.Status, Capacity: bidding.Vec(m.Capacity)}
		if old, ok := records[m.ID]; ok && old == rec {
			continue
		}
		if _, err := s.Apply(ctx, fsm.CmdUpsertMember, fsm.UpsertMember{Member: rec}); err != nil {
			s.log.Warn("could not record member", "node", m.Name, "error", err)
		}
	}
}

// Package fsm is Allot's replicated state machine: services, bids, boosts,
// member records, settings and committed plans. Apply uses only the entry's
// bytes and its log index: no clock, no randomness, no I/O.
package fsm

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/raft"
)

// FSM implements raft.FSM. It is safe for concurrent readers while Raft applies.
type FSM struct {
	mu    sync.RWMutex
	st    *state
	watch chan struct{} // closed and replaced on every applied change
	// planWatch is closed and replaced when the latest plan changes (a
	// commit or a restore), so plan watchers are not woken by every bid.
	planWatch chan struct{}
	planSeen  uint64 // the PlanIdx planWatch was last closed for

	// Local, never replicated: the state checks (check.go).
	hashes         planHashes
	pending        map[uint64]*StateCheck // checks that came before their hash was ready
	hashedCh       chan struct{}          // closed and replaced when a hash is recorded
	hashing        sync.WaitGroup         // hashes being computed (check.go)
	hashQueue      []hashJob              // plans to hash, in order; the first is being hashed
	lastPlan       uint64                 // the latest plan index applied (hashed or skipped)
	restoredAt     uint64                 // the index of the latest snapshot restored
	skipped        uint64                 // plans not hashed because maxQueuedHashes waited
	digestMu       sync.Mutex             // guards planDigests and digestGen (used off the FSM's lock)
	digestGen      uint64                 // bumped by Restore
	planDigests    map[uint64]string      // by epoch: each kept plan's digest
	divergences    uint64
	lastDivergence *Divergence
	onDiverge      func(Divergence)
}

// New returns an empty FSM.
func New() *FSM {
	return &FSM{st: newState(), watch: make(chan struct{}), planWatch: make(chan struct{}), hashedCh: make(chan struct{})}
}

var _ raft.FSM = (*FSM)(nil)

// Apply applies one log entry. It returns nil or an error value saying why
// the command was rejected; rejected commands change nothing but the index.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	t, cmd, err := Decode(l.Data)
	var div *Divergence
	defer func() { // after the unlock below
		if div != nil && f.onDiverge != nil {
			f.onDiverge(*div)
		}
	}()
	f.mu.Lock()
	defer f.mu.Unlock()
	if l.Index > f.st.Index {
		f.st.Index = l.Index
	}
	if errors.Is(err, ErrUnknownIgnorable) {
		return nil
	}
	if err != nil {
		// A command this build cannot decode is a bug or a newer leader
		// talking to an old follower; either way, refusing to go on
		// protects the state (rule 3).
		panic(fmt.Sprintf("fsm: undecodable log entry %d: %v", l.Index, err))
	}
	res, err := f.applyLocked(l.Index, t, cmd)
	if err != nil {
		return fmt.Errorf("%s rejected: %w", t, err)
	}
	switch c := cmd.(type) {
	case *CommitPlan, *CommitPlanDelta:
		f.recordLocked(l.Index)
	case *StateCheck:
		div = f.compareLocked(c)
	}
	f.notifyLocked()
	return res
}

// ApplyCommand applies an encoded command directly, as Raft would at index.
// It is for tests and tools that replay logs without Raft. A batch's
// per-request refusals are not an error here (see ApplyResult).
func (f *FSM) ApplyCommand(index uint64, data []byte) error {
	_, err := f.ApplyResult(index, data)
	return err
}

// ApplyResult is ApplyCommand that also returns the command's result (a
// *BatchResult for a submit-bid-batch entry, else nil).
func (f *FSM) ApplyResult(index uint64, data []byte) (any, error) {
	r := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data})
	if err, ok := r.(error); ok {
		return nil, err
	}
	return r, nil
}

func (f *FSM) notifyLocked() {
	close(f.watch)
	f.watch = make(chan struct{})
	if f.st.PlanIdx != f.planSeen {
		f.planSeen = f.st.PlanIdx
		close(f.planWatch)
		f.planWatch = make(chan struct{})
	}
}

func (f *FSM) applyLocked(index uint64, t CommandType, cmd any) (any, error) {
	spec, ok := commands[t]
	if !ok {
		return nil, fmt.Errorf("no handler for %s", t)
	}
	return spec.apply(f.st, index, cmd)
}

func commitPlanLocked(s *state, index uint64, p bidding.Plan) error {
	if latest := s.latestEpoch(); p.Epoch <= latest {
		return fmt.Errorf("epoch: plan for epoch %d is not after the latest committed epoch %d", p.Epoch, latest)
	}
	storePlanLocked(s, index, p)
	set := s.settings()
	// Bids older than the TTL can never be in force again, except the newest
	// one of a placement, which keeps the placement at its floor.
	// Every placement is visited at every plan (100k at 1000 nodes × 100
	// services), so no sort and no clone unless something goes.
	for k, bids := range s.Bids {
		if len(bids) == 0 {
			delete(s.Bids, k)
			continue
		}
		var newest uint64
		for e := range bids {
			newest = max(newest, e)
		}
		gone := 0
		for e := range bids {
			if e != newest && e+set.BidTTL <= p.Epoch {
				gone++
			}
		}
		if gone == 0 {
			continue
		}
		kept := make(map[uint64]bidding.Bid, len(bids)-gone) // a new map: a snapshot may hold the old one
		for e, b := range bids {
			if e == newest || e+set.BidTTL > p.Epoch {
				kept[e] = b
			}
		}
		s.Bids[k] = kept
	}
	// Usage older than the plans kept goes with them.
	for k, pairs := range s.Usage {
		i := 0
		for i < len(pairs) && pairs[i].Epoch+uint64(set.PlanHistory) <= p.Epoch {
			i++
		}
		switch {
		case i == len(pairs):
			delete(s.Usage, k)
		case i > 0:
			s.Usage[k] = slices.Clone(pairs[i:])
		}
	}
	if len(s.Usage) == 0 {
		s.Usage = nil
	}
	for name, b := range s.Boosts {
		if b.ExpireEpoch() <= p.Epoch {
			delete(s.Boosts, name)
		}
	}
	return nil
}

// validateBidLocked checks a bid against the registry and the epoch window.
func validateBidLocked(s *state, b *bidding.Bid) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if _, ok := s.Services[b.Service]; !ok {
		return fmt.Errorf("service: %q is not registered", b.Service)
	}
	if !s.hasClientNode(b.Node) {
		return fmt.Errorf("node: %q is not a known client node", b.Node)
	}
	cur := s.latestEpoch() + 1
	ttl := s.settings().BidTTL
	if b.Epoch+ttl < cur || b.Epoch > cur+ttl {
		return fmt.Errorf("epoch: %d is more than %d epochs from the current epoch %d", b.Epoch, ttl, cur)
	}
	return nil
}

func (s *state) hasClientNode(name string) bool {
	if s.clientNodes != nil {
		_, ok := s.clientNodes[name]
		return ok
	}
	for _, m := range s.Members {
		if m.Name == name && m.Client {
			return true
		}
	}
	return false
}

// indexClientNodes rebuilds the set of client node names (under the write
// lock, after the members changed): every bid is checked against it, and a
// scan of a thousand member records per bid was the largest cost of
// validating one. It is replaced, never changed in place (snapshots share it).
func (s *state) indexClientNodes() {
	idx := make(map[string]struct{}, len(s.Members))
	for _, m := range s.Members {
		if m.Client {
			idx[m.Name] = struct{}{}
		}
	}
	s.clientNodes = idx
}

// ValidateBids checks bids against the current state without applying them,
// so that the API can refuse bad input before it reaches the log.
func (f *FSM) ValidateBids(bids []bidding.Bid) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return validateBidsLocked(f.st, bids)
}

// ValidateBidRequests is ValidateBids for many requests under one read lock
// (the leader's group commit): one answer per request.
func (f *FSM) ValidateBidRequests(reqs [][]bidding.Bid) []error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	errs := make([]error, len(reqs))
	for i, bids := range reqs {
		errs[i] = validateBidsLocked(f.st, bids)
	}
	return errs
}

func validateBidsLocked(s *state, bids []bidding.Bid) error {
	for i := range bids {
		if err := validateBidLocked(s, &bids[i]); err != nil {
			if len(bids) == 1 {
				return err
			}
			return fmt.Errorf("bids[%d]: %w", i, err)
		}
	}
	return nil
}

// Read accessors. Every slice is sorted; values are copies.

// Index is the last applied log index.
func (f *FSM) Index() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.Index
}

// Hash is a SHA-256 of the canonical encoding of the whole state.
func (f *FSM) Hash() string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.hash()
}

// WatchCh is closed at the next applied change.
func (f *FSM) WatchCh() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.watch
}

// PlanWatchCh is closed when the latest plan changes: a plan is committed
// or a snapshot restored. Other applied changes do not close it.
func (f *FSM) PlanWatchCh() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.planWatch
}

// Services returns the registered services sorted by name.
func (f *FSM) Services() []bidding.Service {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]bidding.Service, 0, len(f.st.Services))
	for _, k := range slices.Sorted(maps.Keys(f.st.Services)) {
		out = append(out, f.st.Services[k])
	}
	return out
}

// Service returns one service.
func (f *FSM) Service(name string) (bidding.Service, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, ok := f.st.Services[name]
	return s, ok
}

// Bids returns all stored bids sorted by (service, node, epoch).
func (f *FSM) Bids() []bidding.Bid {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []bidding.Bid
	for _, k := range slices.Sorted(maps.Keys(f.st.Bids)) {
		for _, e := range sortedEpochs(f.st.Bids[k]) {
			out = append(out, f.st.Bids[k][e])
		}
	}
	sortBids(out)
	return out
}

func sortBids(bs []bidding.Bid) {
	sort.SliceStable(bs, func(i, j int) bool {
		a, b := bs[i], bs[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.Epoch < b.Epoch
	})
}

// Boosts returns the boosts sorted by service.
func (f *FSM) Boosts() []bidding.Boost {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]bidding.Boost, 0, len(f.st.Boosts))
	for _, k := range slices.Sorted(maps.Keys(f.st.Boosts)) {
		out = append(out, f.st.Boosts[k])
	}
	return out
}

// Member returns one member record by ID (what forwarding looks up on
// every request: Members copies and sorts them all).
func (f *FSM) Member(id string) (Member, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.st.Members[id]
	return m, ok
}

// Members returns the member records sorted by name.
func (f *FSM) Members() []Member {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Member, 0, len(f.st.Members))
	for _, k := range slices.Sorted(maps.Keys(f.st.Members)) {
		out = append(out, f.st.Members[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Settings returns the agreed settings (defaults until a leader set them).
func (f *FSM) Settings() (Settings, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.settings(), f.st.Settings != nil
}

// LatestPlan returns the newest committed plan.
func (f *FSM) LatestPlan() (bidding.Plan, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e := f.st.latestEpoch()
	p, ok := f.st.Plans[e]
	return p, ok
}

// Plan returns the plan of one epoch, if still kept. A past plan (older
// than the latest WholePlans) is rebuilt from the compact history: its
// allocations, capacities, stats and problems as committed, without node
// shadow prices.
// It is rebuilt outside the lock, so applies do not wait for it.
func (f *FSM) Plan(epoch uint64) (bidding.Plan, bool) {
	f.mu.RLock()
	if p, ok := f.st.Plans[epoch]; ok {
		f.mu.RUnlock()
		return p, true
	}
	chain, base, ok := f.st.pastChain(epoch)
	f.mu.RUnlock()
	if !ok {
		return bidding.Plan{}, false
	}
	return rebuildPast(chain, base), true
}

// PlanIndex is the log index of the latest plan entry (0 if none).
func (f *FSM) PlanIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.PlanIdx
}

// PlanEpochs lists the epochs whose plans are kept, oldest first.
func (f *FSM) PlanEpochs() []uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]uint64, 0, len(f.st.Past)+len(f.st.Plans))
	for _, pp := range f.st.Past {
		out = append(out, pp.Epoch)
	}
	return append(out, sortedEpochs(f.st.Plans)...)
}

// Inputs is a consistent view of what the leader solves from.
type Inputs struct {
	Index    uint64
	Epoch    uint64 // the epoch to solve: latest + 1
	Settings Settings
	Services []bidding.Service
	Nodes    []bidding.Node
	Bids     []bidding.Bid // in force at Epoch; stale ones reduced to their floor
	Boosts   []bidding.Boost
	Previous *bidding.Plan
}

// SolveInputs returns, under one read lock, the inputs for the next epoch.
// A placement's bid in force is its newest bid with epoch ≤ Epoch; if that
// bid is BidTTL or more epochs old, it is passed with its quantiles zeroed,
// so the placement falls back to its floor.
func (f *FSM) SolveInputs() Inputs {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := f.st
	in := Inputs{Index: s.Index, Epoch: s.latestEpoch() + 1, Settings: s.settings()}
	for _, k := range slices.Sorted(maps.Keys(s.Services)) {
		in.Services = append(in.Services, s.Services[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.Members)) {
		m := s.Members[k]
		if m.Client {
			in.Nodes = append(in.Nodes, bidding.Node{Name: m.Name, Capacity: m.Capacity})
		}
	}
	sort.SliceStable(in.Nodes, func(i, j int) bool { return in.Nodes[i].Name < in.Nodes[j].Name })
	for _, k := range slices.Sorted(maps.Keys(s.Bids)) {
		// The newest bid with epoch ≤ the one solved (no sort: a few
		// epochs per placement, 100k placements).
		var best *bidding.Bid
		var bestEpoch uint64
		for e, b := range s.Bids[k] {
			if e <= in.Epoch && (best == nil || e > bestEpoch) {
				b := b
				best, bestEpoch = &b, e
			}
		}
		if best == nil {
			continue
		}
		if best.Epoch+in.Settings.BidTTL <= in.Epoch {
			stale := *best
			stale.Resources = map[string]bidding.Quantiles{}
			for r, q := range best.Resources {
				stale.Resources[r] = bidding.Quantiles{Min: q.Min, Max: q.Max}
			}
			best = &stale
		}
		in.Bids = append(in.Bids, *best)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Boosts)) {
		in.Boosts = append(in.Boosts, s.Boosts[k])
	}
	if p, ok := s.Plans[s.latestEpoch()]; ok {
		in.Previous = &p
	}
	return in
}

package fsm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// StateCheck is the leader's hash of the replicated state right after it
// applied the plan at Index (issue 13: replicas compare state as etcd's
// corruption check does). Every server records its own hash when it applies
// a plan; when it applies a StateCheck it compares. The command changes no
// state, and an FSM that does not know it skips it (ignorable).
type StateCheck struct {
	Index  uint64 `json:"index"`
	Hash   string `json:"hash"`
	Leader string `json:"leader"` // the leader's node name, for the message
}

// Divergence is a state hash that differs from the leader's at one index.
type Divergence struct {
	Index      uint64 `json:"index"`
	Local      string `json:"local_hash"`
	LeaderHash string `json:"leader_hash"`
	Leader     string `json:"leader"`
}

func (d Divergence) String() string {
	return fmt.Sprintf("state hash at index %d is %.12s here but %.12s on the leader %s", d.Index, d.Local, d.LeaderHash, d.Leader)
}

// keptChecks bounds the plan hashes a server remembers (a check arrives
// right after its plan; a few spare cover a slow leader).
const keptChecks = 16

// planHashes remembers this server's state hash after each recent plan. It
// is local, never in a snapshot: a server restored from one simply has no
// hash for older plans and skips their checks.
type planHashes map[uint64]string

func (p planHashes) add(index uint64, hash string) {
	p[index] = hash
	if len(p) <= keptChecks {
		return
	}
	idx := make([]uint64, 0, len(p))
	for i := range p {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	for _, i := range idx[:len(idx)-keptChecks] {
		delete(p, i)
	}
}

func applyStateCheck(_ *state, _ uint64, c *StateCheck) error {
	if c.Index == 0 {
		return fmt.Errorf("index: must be positive")
	}
	if b, err := hex.DecodeString(c.Hash); err != nil || len(b) != 32 {
		return fmt.Errorf("hash: %.80q is not a hex SHA-256", c.Hash)
	}
	return nil // compared by the FSM (compareLocked); the state is unchanged
}

// CheckEvery is the least time, in epochs of the cluster's length, between
// two state checks: every plan when an epoch is at least this long (the
// default 5 minutes), every ceil(CheckEvery/epoch)-th plan when shorter, so
// that fast epochs do not hash the state every second.
const CheckEvery = 30 * time.Second

// checksPlan reports whether the plan of epoch e is one whose state is
// checked. It depends only on replicated state (the epoch and the
// settings), so every server records a hash for the same plans.
func (s *state) checksPlan(e uint64) bool {
	ms := s.settings().EpochMS
	if ms <= 0 {
		return true
	}
	k := (uint64(CheckEvery.Milliseconds()) + uint64(ms) - 1) / uint64(ms)
	return k <= 1 || e%k == 0
}

// recordLocked starts hashing the state just after the plan at index, when
// its epoch is checked. The hash is computed off Raft's apply goroutine on
// an immutable view (state values are replaced, never changed in place, as
// for snapshots): on a large cluster it takes a good fraction of a second.
func (f *FSM) recordLocked(index uint64, epoch uint64) {
	if !f.st.checksPlan(epoch) {
		return
	}
	view := f.st.clone()
	f.digestMu.Lock()
	gen := f.digestGen
	f.digestMu.Unlock()
	f.hashing.Add(1)
	go func() {
		defer f.hashing.Done()
		h := f.checkHash(view, gen)
		f.mu.Lock()
		if f.hashes == nil {
			f.hashes = planHashes{}
		}
		f.hashes.add(index, h)
		var div *Divergence
		if c, ok := f.pending[index]; ok {
			delete(f.pending, index)
			div = f.compareLocked(c)
		}
		close(f.hashedCh)
		f.hashedCh = make(chan struct{})
		f.mu.Unlock()
		if div != nil && f.onDiverge != nil {
			f.onDiverge(*div)
		}
	}()
}

// checkHash is a SHA-256 of st in which each kept plan counts by a digest
// of its encoding, cached per epoch: committed plans never change, and
// re-encoding hundreds of them at every check cost seconds on a large
// cluster (the full state hash, Hash, is for tests and tools).
// gen is the digest generation st was taken in: after a Restore the cache
// belongs to other plans, and a view from before it neither uses nor fills it.
func (f *FSM) checkHash(st *state, gen uint64) string {
	f.digestMu.Lock()
	defer f.digestMu.Unlock()
	digests := f.planDigests
	if gen != f.digestGen || digests == nil {
		digests = map[uint64]string{}
		if gen == f.digestGen {
			f.planDigests = digests
		}
	}
	for e := range digests {
		if _, ok := st.Plans[e]; !ok {
			delete(digests, e)
		}
	}
	h := sha256.New()
	for _, e := range sortedEpochs(st.Plans) {
		d, ok := digests[e]
		if !ok {
			b, err := json.Marshal(st.Plans[e])
			if err != nil {
				panic("fsm: plan does not encode: " + err.Error()) // plain data: a programming error
			}
			sum := sha256.Sum256(b)
			d = hex.EncodeToString(sum[:])
			digests[e] = d
		}
		fmt.Fprintf(h, "plan %d %s\n", e, d)
	}
	rest := *st
	rest.Plans = nil
	// The snapshot's canonical msgpack (sorted map keys): faster than JSON
	// on the bids that make up most of the rest.
	if err := writeSnapshot(h, &rest); err != nil {
		panic("fsm: state does not encode: " + err.Error()) // a hash never fails to write
	}
	return hex.EncodeToString(h.Sum(nil))
}

// compareLocked compares a check with this server's own hash at its index
// (or keeps the check until that hash is ready); it returns the
// divergence, if any.
func (f *FSM) compareLocked(c *StateCheck) *Divergence {
	local, ok := f.hashes[c.Index]
	if !ok {
		if f.pending == nil {
			f.pending = map[uint64]*StateCheck{}
		}
		if len(f.pending) < keptChecks {
			f.pending[c.Index] = c // dropped if this server never hashes that plan (restored after it)
		}
		return nil
	}
	if local == c.Hash {
		return nil
	}
	d := Divergence{Index: c.Index, Local: local, LeaderHash: c.Hash, Leader: c.Leader}
	f.divergences++
	f.lastDivergence = &d
	return &d
}

// ChecksPlan reports whether the plan of epoch e is one whose state is
// hashed and checked (see checksPlan).
func (f *FSM) ChecksPlan(e uint64) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.checksPlan(e)
}

// WaitPlanHash waits (bounded by ctx) for this server's hash of the state
// after the plan at index; false when it has none (that plan is not
// checked, or ctx ended).
func (f *FSM) WaitPlanHash(ctx context.Context, index uint64) (string, bool) {
	for {
		f.mu.RLock()
		h, ok := f.hashes[index]
		ch := f.hashedCh
		f.mu.RUnlock()
		if ok {
			return h, true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", false
		}
	}
}

// PlanHash is this server's state hash just after it applied the plan at
// index, if it still remembers it.
func (f *FSM) PlanHash(index uint64) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	h, ok := f.hashes[index]
	return h, ok
}

// Divergences is how many state checks disagreed with this server, and the
// latest one.
func (f *FSM) Divergences() (uint64, *Divergence) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.lastDivergence == nil {
		return f.divergences, nil
	}
	d := *f.lastDivergence
	return f.divergences, &d
}

// OnDivergence sets fn to be called (outside the FSM's lock, on Raft's
// apply goroutine) whenever a state check disagrees. Set it before Raft starts.
func (f *FSM) OnDivergence(fn func(Divergence)) { f.onDiverge = fn }

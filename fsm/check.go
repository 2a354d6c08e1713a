package fsm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
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

// maxQueuedHashes bounds the plans waiting to be hashed (each holds a
// clone of the state's top-level maps).
const maxQueuedHashes = keptChecks / 2

// hashJob is one plan's state, waiting to be hashed.
type hashJob struct {
	index uint64
	view  *state
	gen   uint64
}

// recordLocked queues the state just after the plan at index for hashing:
// every plan is checked, whatever the epoch's length, so a changed byte in
// a replica's log is found at the first plan after it (within one epoch).
// The hashes are computed in order by one goroutine, off Raft's apply
// goroutine, on immutable views (state values are replaced, never changed
// in place, as for snapshots): on a large cluster one takes a good
// fraction of a second. A replay of many plans (a restart, a catch-up)
// queues them; a plan that finds maxQueuedHashes already waiting is not
// hashed here (HashesSkipped), so hashing never piles up behind fast epochs
// on a large state: checks then come as often as the hashing allows. A
// skipped plan is never a false alarm: a check for it finds no local hash
// and is dropped, and the leader commits no check for a plan it skipped.
func (f *FSM) recordLocked(index uint64) {
	f.lastPlan = max(f.lastPlan, index)
	if len(f.hashQueue) >= maxQueuedHashes {
		f.skipped++
		f.dropPendingLocked()
		return
	}
	f.digestMu.Lock()
	gen := f.digestGen
	f.digestMu.Unlock()
	f.hashQueue = append(f.hashQueue, hashJob{index: index, view: f.st.clone(), gen: gen})
	if len(f.hashQueue) > 1 {
		return // the running worker takes it
	}
	f.hashing.Add(1)
	go func() {
		defer f.hashing.Done()
		f.mu.RLock()
		job := f.hashQueue[0]
		f.mu.RUnlock()
		for {
			h := f.checkHash(job.view, job.gen)
			f.mu.Lock()
			if f.hashes == nil {
				f.hashes = planHashes{}
			}
			f.hashes.add(job.index, h)
			f.hashQueue = f.hashQueue[1:] // only this goroutine removes
			var div *Divergence
			if c, ok := f.pending[job.index]; ok {
				delete(f.pending, job.index)
				div = f.compareLocked(c)
			}
			f.dropPendingLocked()
			close(f.hashedCh)
			f.hashedCh = make(chan struct{})
			more := len(f.hashQueue) > 0
			if more {
				job = f.hashQueue[0]
			}
			f.mu.Unlock()
			if div != nil && f.onDiverge != nil {
				f.onDiverge(*div)
			}
			if !more {
				return
			}
		}
	}()
}

// neverHashedLocked reports whether this server will have no hash for the
// plan at index: it applied that plan (or a later one, or a snapshot past
// it) and neither kept a hash for it nor has it queued.
func (f *FSM) neverHashedLocked(index uint64) bool {
	if _, ok := f.hashes[index]; ok {
		return false
	}
	for _, j := range f.hashQueue {
		if j.index == index {
			return false
		}
	}
	return index <= max(f.lastPlan, f.restoredAt)
}

// dropPendingLocked forgets the checks that wait for a hash this server
// will never have.
func (f *FSM) dropPendingLocked() {
	for i := range f.pending {
		if f.neverHashedLocked(i) {
			delete(f.pending, i)
		}
	}
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
		if f.neverHashedLocked(c.Index) {
			return nil // skipped here (a hash was running) or restored past it
		}
		if f.pending == nil {
			f.pending = map[uint64]*StateCheck{}
		}
		if len(f.pending) < keptChecks {
			f.pending[c.Index] = c // compared when the hash is ready (recordLocked)
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

// WaitPlanHash waits (bounded by ctx) for this server's hash of the state
// after the plan at index; false when it will have none (that plan was
// skipped while another hash ran, or restored past) or ctx ended.
func (f *FSM) WaitPlanHash(ctx context.Context, index uint64) (string, bool) {
	for {
		f.mu.RLock()
		h, ok := f.hashes[index]
		never := !ok && f.neverHashedLocked(index)
		ch := f.hashedCh
		f.mu.RUnlock()
		if ok {
			return h, true
		}
		if never {
			return "", false
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

// HashesSkipped is how many plans were not hashed here because the hash of
// an earlier one was still running (a large state under fast epochs).
func (f *FSM) HashesSkipped() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.skipped
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

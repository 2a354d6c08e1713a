package fsm

import (
	"encoding/hex"
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

// recordLocked remembers the hash of the state just after the plan at index.
func (f *FSM) recordLocked(index uint64) {
	if f.hashes == nil {
		f.hashes = planHashes{}
	}
	f.hashes.add(index, f.st.hash())
}

// compareLocked compares a check with this server's own hash at its index;
// it returns the divergence, if any.
func (f *FSM) compareLocked(c *StateCheck) *Divergence {
	local, ok := f.hashes[c.Index]
	if !ok || local == c.Hash {
		return nil
	}
	d := Divergence{Index: c.Index, Local: local, LeaderHash: c.Hash, Leader: c.Leader}
	f.divergences++
	f.lastDivergence = &d
	return &d
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

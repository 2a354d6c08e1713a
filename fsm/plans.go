package fsm

import (
	"encoding/json"
	"fmt"

	"github.com/allot-dev/allot/bidding"
)

// How plans are kept. A committed plan is stored without explanations
// (they are the leader's, in memory: see cluster/explain.go), so neither
// the kept plans nor the snapshots carry them; an older entry that still
// has them loses them on Apply, and an older snapshot on Restore. The kept
// plans are the last plan_history epochs, then trimmed, oldest first, to
// at most plan_history_bytes in all (the latest plan always stays, however
// large). Both bounds are replicated settings, so every replica keeps the
// same plans.

// storePlanLocked stores p as the plan of its epoch and trims the history.
func storePlanLocked(s *state, index uint64, p bidding.Plan) {
	p.Index = index
	p.Explain = nil
	p.Node, p.NodeHash, p.Unchanged = "", "", false // slice fields: never stored
	s.Plans[p.Epoch] = p
	s.PlanIdx = index
	delete(s.planBytes, p.Epoch)
	trimPlansLocked(s)
}

// trimPlansLocked drops the oldest plans beyond plan_history, then beyond
// plan_history_bytes.
func trimPlansLocked(s *state) {
	set := s.settings()
	eps := sortedEpochs(s.Plans)
	drop := func(e uint64) {
		delete(s.Plans, e)
		delete(s.planBytes, e)
	}
	if len(eps) > set.PlanHistory {
		for _, e := range eps[:len(eps)-set.PlanHistory] {
			drop(e)
		}
		eps = eps[len(eps)-set.PlanHistory:]
	}
	if set.PlanHistoryBytes <= 0 {
		return
	}
	var total int64
	for _, e := range eps {
		total += s.planSize(e)
	}
	for len(eps) > 1 && total > set.PlanHistoryBytes {
		total -= s.planSize(eps[0])
		drop(eps[0])
		eps = eps[1:]
	}
}

// planSize is the size of a kept plan: the length of its JSON encoding
// (what `GET /v1/plan?epoch=N` serves, without indentation). The encoding
// is deterministic, so every replica counts the same bytes; it is
// computed once per plan.
func (s *state) planSize(epoch uint64) int64 {
	if n, ok := s.planBytes[epoch]; ok {
		return n
	}
	b, err := json.Marshal(s.Plans[epoch])
	if err != nil {
		// A plan is plain data; a marshal failure is a programming error.
		panic(fmt.Sprintf("fsm: plan of epoch %d does not encode: %v", epoch, err))
	}
	if s.planBytes == nil {
		s.planBytes = map[uint64]int64{}
	}
	s.planBytes[epoch] = int64(len(b))
	return int64(len(b))
}

// stripExplanations drops the explanations a restored snapshot may still
// carry (written before plans were stored without them).
func stripExplanations(s *state) {
	for e, p := range s.Plans {
		if p.Explain != nil {
			p.Explain = nil
			s.Plans[e] = p
		}
	}
}

// PlanByIndex returns the kept plan committed at a log index.
func (f *FSM) PlanByIndex(index uint64) (bidding.Plan, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, p := range f.st.Plans {
		if p.Index == index {
			return p, true
		}
	}
	return bidding.Plan{}, false
}

// PlanHistoryBytes is the size of the kept plans as the byte bound counts
// it (see planSize).
func (f *FSM) PlanHistoryBytes() int64 {
	f.mu.Lock() // planSize memoises
	defer f.mu.Unlock()
	var total int64
	for e := range f.st.Plans {
		total += f.st.planSize(e)
	}
	return total
}

// HasNode reports whether a node is known: a member record by that name,
// or a node of a kept plan (allocations or capacities).
func (f *FSM) HasNode(name string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, m := range f.st.Members {
		if m.Name == name {
			return true
		}
	}
	for _, p := range f.st.Plans {
		for _, n := range p.Nodes {
			if n.Node == name {
				return true
			}
		}
		for _, a := range p.Allocations {
			if a.Node == name {
				return true
			}
		}
	}
	return false
}

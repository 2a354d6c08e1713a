package fsm

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/allot-dev/allot/bidding"
)

// How plans are kept. A committed plan is stored without explanations
// (they are the leader's, in memory: see cluster/explain.go), so neither
// the kept plans nor the snapshots carry them; an older entry that still
// has them loses them on Apply, and an older snapshot on Restore. With
// plan_history_format 1 the latest WholePlans plans stay whole and older
// ones become PastPlans (pastplans.go); with format 0 (a state from before)
// every kept plan stays whole. The kept plans, whole and past, are the last
// plan_history epochs, then trimmed, oldest first, to at most
// plan_history_bytes in all (the latest plan always stays, however large).
// All three are replicated settings, so every replica keeps the same plans.

// storePlanLocked stores p as the plan of its epoch and trims the history.
func storePlanLocked(s *state, index uint64, p bidding.Plan) {
	p.Index = index
	p.Explain = nil
	p.Node, p.NodeHash, p.Unchanged = "", "", false // slice fields: never stored
	s.Plans[p.Epoch] = p
	s.PlanIdx = index
	delete(s.planBytes, p.Epoch)
	if s.settings().PlanHistoryFormat >= PlanHistoryCompact {
		demoteLocked(s)
	}
	trimPlansLocked(s)
}

// trimPlansLocked drops the oldest plans (past ones first: they are older)
// beyond plan_history, then beyond plan_history_bytes.
func trimPlansLocked(s *state) {
	set := s.settings()
	eps := sortedEpochs(s.Plans)
	dropPast := 0 // the oldest past plans to drop
	drop := func(e uint64) {
		delete(s.Plans, e)
		delete(s.planBytes, e)
	}
	if over := len(s.Past) + len(eps) - set.PlanHistory; over > 0 {
		dropPast = min(over, len(s.Past))
		over -= dropPast
		for _, e := range eps[:over] {
			drop(e)
		}
		eps = eps[over:]
	}
	if set.PlanHistoryBytes > 0 {
		var total int64
		for _, e := range eps {
			total += s.planSize(e)
		}
		for _, pp := range s.Past[dropPast:] {
			total += pp.Size
		}
		for dropPast < len(s.Past) && total > set.PlanHistoryBytes {
			total -= s.Past[dropPast].Size
			dropPast++
		}
		for dropPast == len(s.Past) && len(eps) > 1 && total > set.PlanHistoryBytes {
			total -= s.planSize(eps[0])
			drop(eps[0])
			eps = eps[1:]
		}
	}
	switch {
	case dropPast == len(s.Past):
		s.Past = nil
	case dropPast > 0:
		s.Past = s.Past[dropPast:] // resliced, never shifted: snapshots share the array
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

// PlanByIndex returns the kept plan committed at a log index (a past
// plan rebuilt: without node shadow prices).
func (f *FSM) PlanByIndex(index uint64) (bidding.Plan, bool) {
	f.mu.RLock()
	for _, p := range f.st.Plans {
		if p.Index == index {
			f.mu.RUnlock()
			return p, true
		}
	}
	past := f.st.Past
	i := sort.Search(len(past), func(i int) bool { return past[i].Index >= index })
	if i == len(past) || past[i].Index != index {
		f.mu.RUnlock()
		return bidding.Plan{}, false
	}
	chain, base, ok := f.st.pastChain(past[i].Epoch)
	f.mu.RUnlock()
	if !ok {
		return bidding.Plan{}, false
	}
	return rebuildPast(chain, base), true // outside the lock: applies do not wait
}

// PlanHistoryBytes is the size of the kept plans as the byte bound counts
// it (whole plans by planSize, past ones by their Size).
func (f *FSM) PlanHistoryBytes() int64 {
	f.mu.Lock() // planSize memoises
	defer f.mu.Unlock()
	var total int64
	for e := range f.st.Plans {
		total += f.st.planSize(e)
	}
	for _, pp := range f.st.Past {
		total += pp.Size
	}
	return total
}

// HasNode reports whether a node is known: a member record by that name,
// or a node of a whole kept plan (allocations or capacities). Past plans
// are not searched (that means decoding them): ask for the plan of an
// epoch and look in it (the API does, for ?node=&epoch=).
func (f *FSM) HasNode(name string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, m := range f.st.Members {
		if m.Name == name {
			return true
		}
	}
	for _, p := range f.st.Plans {
		if PlanNamesNode(&p, name) {
			return true
		}
	}
	return false
}

// PlanNamesNode reports whether p has an allocation or a capacity on node.
func PlanNamesNode(p *bidding.Plan, node string) bool {
	for _, n := range p.Nodes {
		if n.Node == node {
			return true
		}
	}
	for _, a := range p.Allocations {
		if a.Node == node {
			return true
		}
	}
	return false
}

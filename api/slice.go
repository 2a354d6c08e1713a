package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// Per-node plan slices: GET /v1/plan?node=ID[&index=N&wait=D[&epochs=true]].
//
// The answer is the latest plan's slice for the node (bidding.NodeSlice:
// its allocations sorted by service, its `nodes` entry, epoch, index,
// input_index, created, hash, stats and `node_hash`). With index=N the
// caller says it holds the slice of the plan committed at Raft index N
// (the `index` of the last slice it saw; 0: none), and the query blocks
// until a plan newer than N gives the node a different slice (a different
// node_hash), or — with epochs=true — until any plan newer than N is
// committed, or until the wait (default 30s, at most MaxWait) expires.
// Whenever the slice answered has the node_hash of the plan at N, only a
// stub is sent: {epoch, index, input_index, created, hash, node,
// node_hash, unchanged: true}, no allocations, nodes or stats. A plan at N
// that is no longer kept counts as a different slice (the full one is
// sent). The node client watches with epochs=true: it measures and bids
// once per plan, so it must hear of every plan, and an unchanged one costs
// it a stub.

// sliceCacheSize is how many plans' per-node slices are kept (the latest
// and the ones clients compare with).
const sliceCacheSize = 4

// sliceCache holds, for the last few plans asked about, every node's
// slice, so that a thousand clients waking on one plan scan it once.
type sliceCache struct {
	mu      sync.Mutex
	entries []sliceEntry // most recently built last
}

type sliceEntry struct {
	index  uint64
	byNode map[string]bidding.Plan
}

// slice returns node's slice of p (p.Index identifies the plan).
func (c *sliceCache) slice(p *bidding.Plan, node string) bidding.Plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var e *sliceEntry
	for i := range c.entries {
		if c.entries[i].index == p.Index {
			e = &c.entries[i]
		}
	}
	if e == nil {
		if len(c.entries) == sliceCacheSize {
			c.entries = append(c.entries[:0], c.entries[1:]...)
		}
		c.entries = append(c.entries, sliceEntry{index: p.Index, byNode: map[string]bidding.Plan{}})
		e = &c.entries[len(c.entries)-1]
	}
	if s, ok := e.byNode[node]; ok {
		return s
	}
	if len(e.byNode) == 0 {
		// First node asked: split the whole plan once.
		for _, s := range splitPlan(p) {
			e.byNode[s.Node] = s
		}
	}
	s, ok := e.byNode[node]
	if !ok {
		s = bidding.NodeSlice(p, node) // a node the plan does not name
		e.byNode[node] = s
	}
	return s
}

// cached returns node's slice of the plan at index if that plan's slices
// are cached (so an older plan need not be rebuilt from the FSM's compact
// history to compare with).
func (c *sliceCache) cached(index uint64, node string) (bidding.Plan, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.entries {
		if e := &c.entries[i]; e.index == index && len(e.byNode) > 0 {
			if s, ok := e.byNode[node]; ok {
				return s, true
			}
		}
	}
	return bidding.Plan{}, false
}

// splitPlan is every named node's slice of p, in one pass.
func splitPlan(p *bidding.Plan) []bidding.Plan {
	allocs := map[string][]bidding.Allocation{}
	for _, a := range p.Allocations {
		allocs[a.Node] = append(allocs[a.Node], a)
	}
	nodes := map[string][]bidding.NodePlan{}
	for _, n := range p.Nodes {
		nodes[n.Node] = append(nodes[n.Node], n)
		if _, ok := allocs[n.Node]; !ok {
			allocs[n.Node] = nil
		}
	}
	out := make([]bidding.Plan, 0, len(allocs))
	for node, as := range allocs {
		part := bidding.Plan{Allocations: as, Nodes: nodes[node], Epoch: p.Epoch, Index: p.Index, InputIndex: p.InputIndex,
			Created: p.Created, Hash: p.Hash, Stats: p.Stats, Problems: p.Problems}
		out = append(out, bidding.NodeSlice(&part, node))
	}
	return out
}

// sliceStub is the wire form of an unchanged slice (a few bytes; the
// typed client decodes it into a bidding.Plan with Unchanged set).
type sliceStub struct {
	Epoch      uint64    `json:"epoch"`
	Index      uint64    `json:"index"`
	InputIndex uint64    `json:"input_index"`
	Created    time.Time `json:"created"`
	Hash       string    `json:"hash"`
	Node       string    `json:"node"`
	NodeHash   string    `json:"node_hash"`
	Unchanged  bool      `json:"unchanged"`
}

func stubOf(s bidding.Plan) sliceStub {
	return sliceStub{Epoch: s.Epoch, Index: s.Index, InputIndex: s.InputIndex, Created: s.Created, Hash: s.Hash,
		Node: s.Node, NodeHash: s.NodeHash, Unchanged: true}
}

// getNodePlan serves GET /v1/plan?node=ID (see the top of this file).
func (s *Server) getNodePlan(w http.ResponseWriter, r *http.Request, node string) error {
	if err := bidding.ValidateName("node", node); err != nil {
		return badRequest("%v", err)
	}
	q := r.URL.Query()
	f := s.fsm()
	if e := q.Get("epoch"); e != "" {
		n, err := strconv.ParseUint(e, 10, 64)
		if err != nil {
			return badRequest("epoch: %q is not a non-negative integer", e)
		}
		p, ok := f.Plan(n) // an older plan is rebuilt from the compact history
		if !ok {
			return notFound("epoch: no plan for epoch %d is kept", n)
		}
		if !fsm.PlanNamesNode(&p, node) && !f.HasNode(node) {
			return notFound("node %q is unknown: no member record, and neither the plan of epoch %d nor the latest plans name it", node, n)
		}
		return writeJSON(w, http.StatusOK, bidding.NodeSlice(&p, node)) // not cached: the cache is for the plans clients watch
	}
	if !f.HasNode(node) {
		return notFound("node %q is unknown: no member record and neither of the latest plans names it", node)
	}
	is := q.Get("index")
	if is == "" {
		p, ok := f.LatestPlan()
		if !ok {
			return notFound("no plan committed yet")
		}
		return writeJSON(w, http.StatusOK, s.slices.slice(&p, node))
	}
	idx, err := strconv.ParseUint(is, 10, 64)
	if err != nil {
		return badRequest("index: %q is not a non-negative integer", is)
	}
	wait, err := waitParam(q.Get("wait"))
	if err != nil {
		return err
	}
	wait = remainingWait(r, wait)
	epochs := false
	if es := q.Get("epochs"); es != "" {
		if epochs, err = strconv.ParseBool(es); err != nil {
			return badRequest("epochs: %q is not true or false", es)
		}
	}
	have := "" // node_hash of the caller's slice ("": unknown, any newer plan differs)
	if sl, ok := s.slices.cached(idx, node); ok && idx > 0 {
		have = sl.NodeHash
	} else if p, ok := f.PlanByIndex(idx); ok && idx > 0 {
		have = s.slices.slice(&p, node).NodeHash
	}
	sl, err := s.waitSlice(r, f, node, idx, have, epochs, wait)
	if err != nil {
		return err
	}
	s.setIndexHeaders(w)
	if have != "" && sl.NodeHash == have {
		return writeJSON(w, http.StatusOK, stubOf(sl))
	}
	return writeJSON(w, http.StatusOK, sl)
}

// waitSlice blocks until a plan newer than idx gives node a slice whose
// hash is not have (or, with epochs, until any newer plan), or until wait
// ends; it returns the latest plan's slice.
func (s *Server) waitSlice(r *http.Request, f *fsm.FSM, node string, idx uint64, have string, epochs bool, wait time.Duration) (bidding.Plan, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	seen := idx // the newest plan index already compared
	for {
		ch := f.PlanWatchCh() // not woken by every bid: only a new plan matters here
		if p, ok := f.LatestPlan(); ok && p.Index > seen {
			sl := s.slices.slice(&p, node)
			if epochs || have == "" || sl.NodeHash != have {
				return sl, nil
			}
			seen = p.Index
		}
		select {
		case <-ch:
			continue
		case <-timer.C:
		case <-r.Context().Done():
			return bidding.Plan{}, r.Context().Err()
		}
		p, ok := f.LatestPlan()
		if !ok {
			return bidding.Plan{}, notFound("no plan committed yet")
		}
		return s.slices.slice(&p, node), nil
	}
}

// waitParam parses a blocking query's wait (default 30s, at most MaxWait).
func waitParam(ws string) (time.Duration, error) {
	if ws == "" {
		return 30 * time.Second, nil
	}
	d, err := time.ParseDuration(ws)
	if err != nil || d < 0 {
		return 0, badRequest("wait: %q is not a duration such as 30s", ws)
	}
	return min(d, MaxWait), nil
}

package bidding

import "sync"

// solveWork holds the large scratch arrays of one solve: the canonical bid
// order, the placements and their per-resource figures, the allocations
// before they are copied into the plan, and the LP column arrays. Solve
// is given one by its caller: a Solver keeps its own between solves, so that
// a server solving every epoch does not allocate (and fault in) tens of
// megabytes each time (a sync.Pool would be emptied by the garbage
// collections between epochs). Every array is fully overwritten before it
// is read; nothing in a returned Plan points into it.
type solveWork struct {
	sorted []*Bid
	bids   []*Bid
	pls    []placement
	rp     []resPl // NumResources slabs of len(pls)
	alloc  []Vec
	lp     lpWork
}

// Solver solves problems one at a time, reusing its scratch memory from
// one solve to the next. The zero value is ready to use; it is safe for
// concurrent use (solves are serialised). Use one per long-lived caller,
// such as a leader's epoch loop; the package-level Solve allocates afresh.
type Solver struct {
	mu   sync.Mutex
	work *solveWork
}

// Solve solves p with the solver's scratch memory.
func (s *Solver) Solve(p Problem) (*Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.work == nil {
		s.work = new(solveWork)
	}
	return solveWith(p, s.work, autoLP)
}

// releaseWork detaches in from its scratch arrays; in must not be used
// afterwards. Pointers into the caller's Problem are cleared so a Solver
// does not keep it alive.
func (in *instance) releaseWork() {
	w := in.work
	if w == nil {
		return
	}
	clear(w.sorted[:cap(w.sorted)])
	clear(w.bids[:cap(w.bids)])
	in.work, in.bids, in.pls, in.rp = nil, nil, nil, [NumResources][]resPl{}
}

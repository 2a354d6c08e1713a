package bidding

import (
	"errors"
	"fmt"
	"math"
)

// errIterationCap is returned when the simplex reaches its iteration cap.
var errIterationCap = errors.New("simplex iteration cap reached")

// Arc states of the bounded network simplex.
const (
	basic   int8 = 0
	atLower int8 = 1
	atUpper int8 = -1
)

// network is a min-cost circulation solved by the primal bounded-variable
// network simplex: 0 ≤ flow ≤ ucap on every arc, flow conserved at every
// graph node, minimise Σ cost·flow. A basis is a spanning tree rooted at
// node 0; potentials π make tree arcs' reduced costs zero.
type network struct {
	tail, head []int32
	cost       []float64
	ucap, flow []int64
	state      []int8

	parent, pred []int32 // per graph node: parent and the tree arc to it
	up           []bool  // the tree arc points from the node to its parent
	depth        []int32
	pi           []float64
	kids         []int32 // scratch: children, CSR by parent
	kidStart     []int32
	queue        []int32
	child        [][]int32 // children of each node (any order)
	childPos     []int32   // a node's index in its parent's child list

	// pa packs what pricing reads of each arc into one record (set by
	// start; capacities and costs do not change during the simplex). An arc
	// of capacity 0 is stored as a zero-cost loop at the root, so its
	// reduced cost is 0 and it never prices out, as violation requires.
	pa []priceArc

	eps float64
}

type priceArc struct {
	cost       float64
	tail, head int32
}

func newNetwork(nodes, arcs int) *network {
	return &network{
		tail: make([]int32, 0, arcs), head: make([]int32, 0, arcs), cost: make([]float64, 0, arcs),
		ucap: make([]int64, 0, arcs), flow: make([]int64, 0, arcs),
		parent: make([]int32, nodes), pred: make([]int32, nodes), up: make([]bool, nodes),
		depth: make([]int32, nodes), pi: make([]float64, nodes),
		kids: make([]int32, nodes), kidStart: make([]int32, nodes+1), queue: make([]int32, 0, nodes),
	}
}

// arc adds an arc with zero flow and returns its index.
func (s *network) arc(tail, head int32, cost float64, ucap int64) int32 {
	s.tail = append(s.tail, tail)
	s.head = append(s.head, head)
	s.cost = append(s.cost, cost)
	s.ucap = append(s.ucap, ucap)
	s.flow = append(s.flow, 0)
	return int32(len(s.tail) - 1)
}

// start makes the initial basis from the flows already set: node v ≥ 1
// hangs from its parent by tree[v] (an arc at v); the tree arcs must form a
// spanning tree, and every other arc must be at a bound.
func (s *network) start(tree []int32) error {
	s.state = make([]int8, len(s.tail))
	for a := range s.state {
		switch s.flow[a] {
		case 0:
			s.state[a] = atLower
		case s.ucap[a]:
			s.state[a] = atUpper
		default:
			s.state[a] = basic // must be a tree arc; checked below
		}
	}
	bal := make([]int64, len(s.parent))
	for a, f := range s.flow {
		bal[s.tail[a]] -= f
		bal[s.head[a]] += f
	}
	for v, b := range bal {
		if b != 0 {
			return fmt.Errorf("initial basis: flow not conserved at node %d (%d)", v, b)
		}
	}
	s.parent[0], s.pred[0] = -1, -1
	maxC := 0.0
	for _, c := range s.cost {
		maxC = math.Max(maxC, math.Abs(c))
	}
	s.eps = float64(maxC * 1e-12)
	if cap(s.pa) < len(s.tail) {
		s.pa = make([]priceArc, len(s.tail))
	}
	s.pa = s.pa[:len(s.tail)]
	for a := range s.pa {
		if s.ucap[a] == 0 {
			s.pa[a] = priceArc{}
			continue
		}
		s.pa[a] = priceArc{cost: s.cost[a], tail: s.tail[a], head: s.head[a]}
	}
	for v := 1; v < len(s.parent); v++ {
		a := tree[v]
		if a < 0 || int(a) >= len(s.tail) || s.tail[a] != int32(v) && s.head[a] != int32(v) {
			return fmt.Errorf("initial basis: node %d has no tree arc", v)
		}
		s.pred[v], s.up[v] = a, s.tail[a] == int32(v)
		if s.up[v] {
			s.parent[v] = s.head[a]
		} else {
			s.parent[v] = s.tail[a]
		}
		s.state[a] = 2 // mark
	}
	for a, st := range s.state {
		switch st {
		case basic:
			return fmt.Errorf("initial basis: arc %d has flow %d strictly inside [0, %d] but is not in the tree", a, s.flow[a], s.ucap[a])
		case 2:
			s.state[a] = basic
		}
	}
	return s.retree()
}

// retree recomputes depths and potentials from the parent pointers.
func (s *network) retree() error {
	V := len(s.parent)
	clear(s.kidStart)
	for v := 1; v < V; v++ {
		s.kidStart[s.parent[v]+1]++
	}
	for v := 0; v < V; v++ {
		s.kidStart[v+1] += s.kidStart[v]
	}
	pos := s.queue[:0]
	pos = append(pos, s.kidStart[:V]...)
	for v := 1; v < V; v++ {
		p := s.parent[v]
		s.kids[pos[p]] = int32(v)
		pos[p]++
	}
	q := pos[:0]
	q = append(q, 0)
	s.depth[0], s.pi[0] = 0, 0
	for h := 0; h < len(q); h++ {
		u := q[h]
		for _, v := range s.kids[s.kidStart[u]:s.kidStart[u+1]] {
			c := s.cost[s.pred[v]]
			s.depth[v] = s.depth[u] + 1
			if s.up[v] {
				s.pi[v] = s.pi[u] + c
			} else {
				s.pi[v] = s.pi[u] - c
			}
			q = append(q, v)
		}
	}
	s.queue = q[:0]
	if len(q) != V {
		return fmt.Errorf("basis is not a spanning tree (%d of %d nodes reached)", len(q), V)
	}
	s.child = make([][]int32, V)
	s.childPos = make([]int32, V)
	for v := 1; v < V; v++ {
		s.attach(int32(v))
	}
	return nil
}

func (s *network) attach(v int32) {
	p := s.parent[v]
	s.childPos[v] = int32(len(s.child[p]))
	s.child[p] = append(s.child[p], v)
}

func (s *network) detach(v int32) {
	p := s.parent[v]
	kids := s.child[p]
	i, last := s.childPos[v], kids[len(kids)-1]
	kids[i], s.childPos[last] = last, i
	s.child[p] = kids[:len(kids)-1]
}

// refresh recomputes depth and potential in the subtree rooted at q from
// q's parent (after a pivot re-hung that subtree).
func (s *network) refresh(q int32) {
	stack := append(s.queue[:0], q)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		u := s.parent[v]
		c := s.cost[s.pred[v]]
		s.depth[v] = s.depth[u] + 1
		if s.up[v] {
			s.pi[v] = s.pi[u] + c
		} else {
			s.pi[v] = s.pi[u] - c
		}
		stack = append(stack, s.child[v]...)
	}
	s.queue = stack[:0]
}

// violation is how much arc a's reduced cost says to move it (0: none):
// d = cost − π(tail) + π(head) is −d for an arc at its lower bound when
// d < −eps, d for one at its upper bound when d > eps. Written without
// branches on the state: atLower is 1 and atUpper −1, so −state·d is that
// figure exactly (a product by ±1 is an exact negation), and 0 for a basic
// arc; an arc of capacity 0 has d = 0 (see pa).
func (s *network) violation(a int) float64 {
	p := &s.pa[a]
	v := float64(float64(-s.state[a]) * (p.cost - s.pi[p.tail] + s.pi[p.head]))
	if v > s.eps {
		return v
	}
	return 0
}

// scan appends to cand the violated arcs from next on, cyclically, until
// cand holds size arcs or every arc was seen; it returns cand and the arc
// to scan next. Same test as violation, on locals for a tight loop.
func (s *network) scan(cand []int32, next, size int) ([]int32, int) {
	state, pi, eps := s.state, s.pi, s.eps
	A := len(state)
	pa := s.pa[:A]
	for scanned := 0; scanned < A && len(cand) < size; scanned++ {
		p := &pa[next]
		if v := float64(float64(-state[next]) * (p.cost - pi[p.tail] + pi[p.head])); v > eps {
			cand = append(cand, int32(next))
		}
		if next++; next == A {
			next = 0
		}
	}
	return cand, next
}

// runCapped runs the simplex for at most maxIter pivots (≤ 0: 50 per arc
// plus 1000, far above what any instance seen needs).
func (s *network) runCapped(maxIter int) (int, error) {
	if maxIter <= 0 {
		maxIter = 50*len(s.tail) + 1000
	}
	return s.run(maxIter)
}

// run pivots until no arc prices out (optimal) or maxIter pivots. Pricing
// keeps a candidate list: a cyclic scan collects violated arcs until the
// list is full (or every arc was seen), then each pivot takes the most
// violated arc still on it (ties: first on the list) and drops arcs no
// longer violated; an empty list triggers the next scan.
func (s *network) run(maxIter int) (int, error) {
	A := len(s.state)
	size := max(16, int(math.Sqrt(float64(A))/2))
	cand := make([]int32, 0, size)
	next := 0
	for it := 0; ; {
		if len(cand) == 0 {
			cand, next = s.scan(cand, next, size)
			if len(cand) == 0 {
				return it, nil
			}
		}
		best, bestV, keep := int32(-1), 0.0, cand[:0]
		for _, a := range cand {
			if v := s.violation(int(a)); v > 0 {
				keep = append(keep, a)
				if v > bestV {
					best, bestV = a, v
				}
			}
		}
		cand = keep
		if best < 0 {
			continue
		}
		if it >= maxIter {
			return it, errIterationCap
		}
		if err := s.pivot(best); err != nil {
			return it, err
		}
		it++
	}
}

// pivot brings arc e into the basis, moving flow around its cycle and
// removing the last blocking arc in the cycle's orientation from the join
// (Cunningham's rule).
func (s *network) pivot(e int32) error {
	var u0, v0 int32
	var resE int64
	if s.state[e] == atLower {
		u0, v0, resE = s.tail[e], s.head[e], s.ucap[e]-s.flow[e]
	} else {
		u0, v0, resE = s.head[e], s.tail[e], s.flow[e]
	}
	a, b := u0, v0
	for a != b {
		switch {
		case s.depth[a] > s.depth[b]:
			a = s.parent[a]
		case s.depth[b] > s.depth[a]:
			b = s.parent[b]
		default:
			a, b = s.parent[a], s.parent[b]
		}
	}
	join := a
	resV := func(w int32) int64 { // residual for flow w→parent
		x := s.pred[w]
		if s.up[w] {
			return s.ucap[x] - s.flow[x]
		}
		return s.flow[x]
	}
	resU := func(w int32) int64 { // residual for flow parent→w
		x := s.pred[w]
		if s.up[w] {
			return s.flow[x]
		}
		return s.ucap[x] - s.flow[x]
	}
	delta := resE
	for w := v0; w != join; w = s.parent[w] {
		delta = min(delta, resV(w))
	}
	for w := u0; w != join; w = s.parent[w] {
		delta = min(delta, resU(w))
	}
	if delta < 0 {
		return fmt.Errorf("pivot on arc %d: negative residual %d", e, delta)
	}
	leave, onV := int32(-1), false
	for w := v0; w != join; w = s.parent[w] {
		if resV(w) == delta {
			leave, onV = w, true
		}
	}
	if leave < 0 && resE != delta {
		for w := u0; w != join; w = s.parent[w] {
			if resU(w) == delta {
				leave = w
				break
			}
		}
	}
	if delta > 0 {
		for w := v0; w != join; w = s.parent[w] {
			if x := s.pred[w]; s.up[w] {
				s.flow[x] += delta
			} else {
				s.flow[x] -= delta
			}
		}
		for w := u0; w != join; w = s.parent[w] {
			if x := s.pred[w]; s.up[w] {
				s.flow[x] -= delta
			} else {
				s.flow[x] += delta
			}
		}
		if s.state[e] == atLower {
			s.flow[e] += delta
		} else {
			s.flow[e] -= delta
		}
	}
	if leave < 0 { // the entering arc went from one bound to the other
		s.state[e] = -s.state[e]
		return nil
	}
	la := s.pred[leave]
	s.state[la] = atLower
	if s.flow[la] > 0 {
		s.state[la] = atUpper
	}
	s.state[e] = basic
	q, p := u0, v0
	if onV {
		q, p = v0, u0
	}
	prevNode, prevArc, cur := p, e, q
	for {
		np, na := s.parent[cur], s.pred[cur]
		s.detach(cur)
		s.parent[cur], s.pred[cur], s.up[cur] = prevNode, prevArc, s.tail[prevArc] == cur
		s.attach(cur)
		if cur == leave {
			break
		}
		prevNode, prevArc, cur = cur, na, np
	}
	s.refresh(q)
	return nil
}

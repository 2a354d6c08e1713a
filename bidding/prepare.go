package bidding

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// placement is one (service, node) pair with a bid, after canonicalisation.
type placement struct {
	svc, node int32
	epoch     uint64 // the bid's epoch
}

// resPl is one placement's figures for one resource. They are kept per
// resource (instance.rp[r][i]) so that each resource's passes stream
// through a compact array.
type resPl struct {
	q     Quantiles // the bid's quantiles (zero if absent)
	min   int64     // guaranteed minimum (before admission scaling)
	hi    int64     // most the placement can use
	floor int64     // min + fair entitlement
	has   bool      // the bid names the resource
}

// instance is a Problem in canonical order with everything the solver derives.
type instance struct {
	epoch    uint64
	opts     Options
	nodes    []Node     // sorted by name; Capacity is the raw capacity
	capEff   []Vec      // capacity after reserve and headroom
	svcs     []*Service // sorted by name; they point into the Problem
	svcNames []string
	base     []float64              // per service: unboosted weight
	mult     []float64              // per service: boost multiplier in effect
	wid      []int32                // per service: index of its weight among the distinct weights
	keyVal   [][NumSegments]float64 // per distinct weight: segmentKey
	keyRank  [][NumSegments]int32   // per distinct weight: rank of the key, 0 highest
	nRanks   int
	rankKey  []float64 // per rank: its segment key (rank 0 highest)
	bids     []*Bid    // per placement: its bid (pointing into the Problem)
	pls      []placement
	rp       [NumResources][]resPl // per resource, indexed like pls
	problems []string
	prevHash string
	work     *solveWork // scratch arrays, reused across solves
	shape    lpShape    // autoLP; the tests set fullLP or groupedLP to compare
}

// Validate checks the options; the error names the field.
func (o Options) Validate() error { return validateOptions(o) }

func validateOptions(o Options) error {
	bad := func(x float64, lo, hi float64) bool { return math.IsNaN(x) || x < lo || x > hi }
	switch {
	case bad(o.HeadroomFrac, 0, 0.5):
		return fmt.Errorf("options: headroom_frac %v is outside [0, 0.5]", o.HeadroomFrac)
	case bad(o.ShareCap, 0, 1):
		return fmt.Errorf("options: share_cap %v is outside [0, 1]", o.ShareCap)
	case bad(o.BoostCapFrac, 0, 100):
		return fmt.Errorf("options: boost_cap_frac %v is outside [0, 100]", o.BoostCapFrac)
	case bad(o.Deadband, 0, 0.5):
		return fmt.Errorf("options: deadband %v is outside [0, 0.5]", o.Deadband)
	case o.MaxIterations < 0:
		return fmt.Errorf("options: max_iterations %d is negative", o.MaxIterations)
	}
	for _, r := range Resources() {
		if o.Reserve[r] < 0 || o.Reserve[r] > MaxQuantity {
			return fmt.Errorf("options: reserve.%s %d is outside [0, %d]", r, o.Reserve[r], MaxQuantity)
		}
		if o.Budget[r] < 0 || o.Budget[r] > MaxQuantity {
			return fmt.Errorf("options: budget.%s %d is outside [0, %d]", r, o.Budget[r], MaxQuantity)
		}
	}
	return nil
}

// effectiveCapacity takes the reserve, then the headroom, off a node's capacity.
func effectiveCapacity(c Vec, o Options) Vec {
	var e Vec
	for r := range NumResources {
		x := c[r] - o.Reserve[r]
		if x <= 0 || c[r] == 0 {
			continue
		}
		x -= int64(float64(float64(x) * o.HeadroomFrac))
		e[r] = max(x, 0)
	}
	return e
}

// prepare canonicalises p: sorts nodes, services and bids, drops bids the
// solver cannot use (reported in problems), and derives each placement's
// bounds. It returns an error for inconsistent input (duplicate or invalid
// nodes and services, capacities out of range, bad options).
func prepare(p Problem, w *solveWork) (*instance, error) {
	if err := validateOptions(p.Options); err != nil {
		return nil, err
	}
	in := &instance{epoch: p.Epoch, opts: p.Options, work: w, shape: autoLP}
	if p.Previous != nil {
		in.prevHash = p.Previous.Hash
	}
	in.nodes = slices.Clone(p.Nodes)
	slices.SortFunc(in.nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	in.capEff = make([]Vec, len(in.nodes))
	var total [NumResources]int64
	for i, n := range in.nodes {
		if err := ValidateName("node", n.Name); err != nil {
			return nil, fmt.Errorf("nodes[%d]: %w", i, err)
		}
		if i > 0 && in.nodes[i-1].Name == n.Name {
			return nil, fmt.Errorf("nodes: %q appears twice", n.Name)
		}
		for r := range NumResources {
			if n.Capacity[r] < 0 || n.Capacity[r] > MaxQuantity {
				return nil, fmt.Errorf("node %s: capacity.%s %d is outside [0, %d]", n.Name, Resource(r), n.Capacity[r], MaxQuantity)
			}
			total[r] += n.Capacity[r]
			if total[r] > math.MaxInt64/4 {
				return nil, fmt.Errorf("node %s: cluster capacity of %s overflows", n.Name, Resource(r))
			}
		}
		in.capEff[i] = effectiveCapacity(n.Capacity, p.Options)
	}
	in.svcs = make([]*Service, len(p.Services))
	for i := range p.Services {
		in.svcs[i] = &p.Services[i]
	}
	slices.SortFunc(in.svcs, func(a, b *Service) int { return strings.Compare(a.Name, b.Name) })
	in.svcNames = make([]string, len(in.svcs))
	in.base = make([]float64, len(in.svcs))
	for i := range in.svcs {
		s := in.svcs[i]
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		if i > 0 && in.svcs[i-1].Name == s.Name {
			return nil, fmt.Errorf("services: %q appears twice", s.Name)
		}
		in.svcNames[i] = s.Name
		in.base[i] = s.EffectiveWeight()
	}
	in.mult = boostMultipliers(in.svcNames, in.base, p.Boosts, p.Epoch, p.Options.BoostCapFrac)
	in.rankKeys()
	in.selectBids(p.Bids)
	return in, nil
}

// compareBids orders bids by (service, node), then newest epoch first, then
// by content, so that the choice among duplicates does not depend on input order.
func compareBids(a, b *Bid) int {
	if c := strings.Compare(a.Service, b.Service); c != 0 {
		return c
	}
	if c := strings.Compare(a.Node, b.Node); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Epoch, a.Epoch); c != 0 {
		return c
	}
	return slices.Compare(bidWords(a), bidWords(b))
}

// bidWords is the part of a bid the solver reads, as integers in canonical order.
func bidWords(b *Bid) []int64 {
	w := make([]int64, 0, NumResources*6)
	for _, name := range resourceNames {
		q, ok := b.Resources[name]
		if !ok {
			w = append(w, 0, 0, 0, 0, 0, 0)
			continue
		}
		w = append(w, 1, q.P50, q.P90, q.P99, q.Min, q.Max)
	}
	return w
}

func (in *instance) selectBids(bids []Bid) {
	w := in.work
	sorted := reuse(w.sorted, len(bids))[:len(bids)]
	w.sorted = sorted
	for i := range bids {
		sorted[i] = &bids[i]
	}
	slices.SortFunc(sorted, compareBids)
	nodeIdx := make(map[string]int32, len(in.nodes))
	for i, n := range in.nodes {
		nodeIdx[n.Name] = int32(i)
	}
	n := len(sorted)
	in.bids = reuse(w.bids, n)[:n]
	in.pls = reuse(w.pls, n)[:n]
	slab := reuse(w.rp, NumResources*n)[:NumResources*n]
	w.bids, w.pls, w.rp = in.bids, in.pls, slab
	for r := range in.rp {
		in.rp[r] = slab[r*n : (r+1)*n : (r+1)*n]
	}
	np, si := 0, 0
	for i, b := range sorted {
		if i > 0 && sorted[i-1].Service == b.Service && sorted[i-1].Node == b.Node {
			in.problems = append(in.problems, fmt.Sprintf("bid %s/%s epoch %d: superseded by another bid for the same placement", b.Service, b.Node, b.Epoch))
			continue
		}
		// The bid's figures go straight into slot np; a bid that is then
		// dropped leaves them to be overwritten by the next one (or cut off).
		if !fastBidCheck(b, np, &in.rp) {
			if err := b.Validate(); err != nil {
				in.problems = append(in.problems, fmt.Sprintf("bid %s/%s: ignored: %v", b.Service, b.Node, err))
				continue
			}
		}
		for si < len(in.svcNames) && in.svcNames[si] < b.Service {
			si++
		}
		if si == len(in.svcNames) || in.svcNames[si] != b.Service {
			in.problems = append(in.problems, fmt.Sprintf("bid %s/%s: ignored: unknown service %q", b.Service, b.Node, b.Service))
			continue
		}
		ni, ok := nodeIdx[b.Node]
		if !ok {
			in.problems = append(in.problems, fmt.Sprintf("bid %s/%s: ignored: unknown node %q", b.Service, b.Node, b.Node))
			continue
		}
		in.bids[np] = b
		in.pls[np] = placement{svc: int32(si), node: ni, epoch: b.Epoch}
		in.placementBounds(np)
		np++
	}
	in.bids, in.pls = in.bids[:np], in.pls[:np]
	for r := range in.rp {
		in.rp[r] = in.rp[r][:np]
	}
}

// fastBidCheck reads the bid's quantiles into rp[r][np] (q and has; the
// rest zeroed) and reports, without allocating, that the bid is valid; when
// it says no, Bid.Validate decides and names the field.
func fastBidCheck(b *Bid, np int, rp *[NumResources][]resPl) bool {
	// Four direct lookups (small maps are scanned without hashing) instead
	// of iterating the map; a key other than the four resources makes
	// len(b.Resources) exceed known below, and Bid.Validate decides.
	known, ok := 0, true
	for r := range NumResources {
		dst := &rp[r][np]
		q, has := b.Resources[resourceNames[r]]
		*dst = resPl{q: q, has: has}
		if !has {
			continue
		}
		known++
		if q.P50 < 0 || q.Min < 0 || q.Max < 0 || q.P99 > MaxQuantity || q.Min > MaxQuantity || q.Max > MaxQuantity ||
			q.P50 > q.P90 || q.P90 > q.P99 || q.Max > 0 && (q.Max < q.P99 || q.Min > q.Max) {
			ok = false
		}
	}
	// Names need no check here: a bid is used only if its service and node
	// match ones already validated.
	return ok && known > 0 && known == len(b.Resources) && len(b.ForecastError) == 0
}

// placementBounds derives placement i's minimum and upper bound per
// resource (selectBids calls it as each placement is accepted, while its
// figures are in cache).
func (in *instance) placementBounds(i int) {
	pl := &in.pls[i]
	s := in.svcs[pl.svc]
	c := &in.capEff[pl.node]
	for r := range NumResources {
		if c[r] == 0 {
			continue
		}
		rp := &in.rp[r][i]
		q, ok := rp.q, rp.has
		m := s.Min[r]
		hi := m
		if ok {
			m = max(m, q.Min)
			hi = q.P99
			if q.Max > 0 {
				hi = q.Max
			}
		}
		if s.Max[r] > 0 {
			m = min(m, s.Max[r])
			hi = min(hi, s.Max[r])
		}
		hi = max(hi, m)
		rp.min = min(m, c[r])
		rp.hi = min(hi, c[r])
	}
}

// rankKeys finds the distinct weights and ranks their segment keys, so that
// columns can be ordered by value with a counting sort.
func (in *instance) rankKeys() {
	in.wid = make([]int32, len(in.svcs))
	seen := make(map[float64]int32)
	var wts []float64 // distinct weights, by id
	for i := range in.svcs {
		w := float64(in.base[i] * in.mult[i])
		// Few distinct weights: scan them before falling back on the map
		// (same ids: first appearance order, == on the weight either way).
		id, ok := int32(-1), false
		if len(in.keyVal) <= 16 {
			for d := range in.keyVal {
				if wts[d] == w {
					id, ok = int32(d), true
					break
				}
			}
		} else {
			id, ok = seen[w]
		}
		if !ok {
			id = int32(len(in.keyVal))
			seen[w] = id
			wts = append(wts, w)
			var kv [NumSegments]float64
			for k := range kv {
				kv[k] = segmentKey(w, k)
			}
			in.keyVal = append(in.keyVal, kv)
		}
		in.wid[i] = id
	}
	keys := make([]float64, 0, len(in.keyVal)*NumSegments)
	for _, kv := range in.keyVal {
		keys = append(keys, kv[:]...)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	in.nRanks = len(keys)
	in.rankKey = make([]float64, len(keys))
	for i, key := range keys {
		in.rankKey[len(keys)-1-i] = key
	}
	in.keyRank = make([][NumSegments]int32, len(in.keyVal))
	for d, kv := range in.keyVal {
		for k, key := range kv {
			i, _ := slices.BinarySearch(keys, key)
			in.keyRank[d][k] = int32(len(keys) - 1 - i)
		}
	}
}

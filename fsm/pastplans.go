package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Compact plan history (plan_history_format 1, see DESIGN.md "Plans").
//
// The latest WholePlans plans are kept whole in state.Plans. An older plan
// is a PastPlan: its metadata (epoch, indexes, created, hash, stats,
// problems) as they were, and its allocations and node capacities as a
// delta against the plan after it (a reverse delta: the newest past plan is
// stored against the oldest whole one, each older one against the next).
// Reading epoch k decodes from the whole plans backwards to k; dropping the
// oldest past plan is just dropping it. Node shadow prices of a past plan
// are not kept (explanations were never kept).
//
// Delta bytes (all integers varints, encoding/binary):
//
//	flags (uvarint: bit 0 allocations nil, bit 1 nodes nil)
//	n (uvarint), then n allocations, in the plan's order:
//	  head (uvarint) = ref<<4 | mask
//	    ref 0: a placement the next plan does not have; the service and
//	           the node follow (uvarint length, bytes each); the reference
//	           values are 0
//	    ref r>0: the next plan's allocation at position prev+1+unzigzag(r-1),
//	           prev being the previous allocation's position there (-1 at first)
//	    mask bit i (cpu, memory, io, net): value i differs from the reference
//	  then, for each set bit, the difference (zigzag varint)
//	m (uvarint), then m node capacities the same way (keyed by node name,
//	  the four capacities as the four values)
//
// A plan like its successor costs one byte per allocation and per node.

// WholePlans is how many of the latest plans are kept whole.
const WholePlans = 2

// Plan history formats (Settings.PlanHistoryFormat).
const (
	// PlanHistoryFull keeps every kept plan whole (states written before
	// the compact history; replaying their log keeps doing so until a
	// leader sets format 1).
	PlanHistoryFull = 0
	// PlanHistoryCompact keeps the latest WholePlans whole and older ones
	// as PastPlans.
	PlanHistoryCompact = 1
)

// PastPlan is a kept plan older than the whole ones (see above).
type PastPlan struct {
	Epoch      uint64        `json:"epoch"`
	Index      uint64        `json:"index"`
	InputIndex uint64        `json:"input_index"`
	Created    time.Time     `json:"created"`
	Hash       string        `json:"hash"`
	Stats      bidding.Stats `json:"stats"`
	Problems   []string      `json:"problems,omitempty"`
	// Delta is the plan's allocations and capacities against the next
	// kept plan's. Never changed once written (snapshots share it).
	Delta []byte `json:"delta"`
	// Size is what the entry counts against plan_history_bytes: the JSON
	// length of its other fields plus len(Delta).
	Size int64 `json:"size"`
}

// compactPlan encodes p against next (the plan after it, whole).
func compactPlan(p, next *bidding.Plan) PastPlan {
	pp := PastPlan{Epoch: p.Epoch, Index: p.Index, InputIndex: p.InputIndex, Created: p.Created, Hash: p.Hash,
		Stats: p.Stats, Problems: p.Problems}
	meta, err := json.Marshal(pp)
	if err != nil {
		// Plain data, checked in JSON's domain on decode: a programming error.
		panic(fmt.Sprintf("fsm: plan of epoch %d does not encode: %v", p.Epoch, err))
	}
	pp.Delta = encodeDelta(p, next)
	pp.Size = int64(len(meta)) + int64(len(pp.Delta))
	return pp
}

// values of an allocation or a node capacity, in mask-bit order.
func allocValues(a *bidding.Allocation) [4]int64 { return [4]int64{a.CPU, a.Memory, a.IO, a.Net} }

func encodeDelta(p, next *bidding.Plan) []byte {
	b := make([]byte, 0, 2*len(p.Allocations)+2*len(p.Nodes)+16)
	var flags uint64
	if p.Allocations == nil {
		flags |= 1
	}
	if p.Nodes == nil {
		flags |= 2
	}
	b = binary.AppendUvarint(b, flags)

	type placement struct{ service, node string } // no concatenated key per allocation
	pos := make(map[placement]int, len(next.Allocations))
	for i, a := range next.Allocations {
		pos[placement{a.Service, a.Node}] = i
	}
	b = binary.AppendUvarint(b, uint64(len(p.Allocations)))
	prev := -1
	for i := range p.Allocations {
		a := &p.Allocations[i]
		var ref [4]int64
		j, ok := pos[placement{a.Service, a.Node}]
		var r uint64
		if ok {
			ref = allocValues(&next.Allocations[j])
			r = 1 + zigzag(int64(j-prev-1))
			prev = j
		}
		b = appendRow(b, r, allocValues(a), ref, !ok, a.Service, a.Node)
	}

	npos := make(map[string]int, len(next.Nodes))
	for i, n := range next.Nodes {
		npos[n.Node] = i
	}
	b = binary.AppendUvarint(b, uint64(len(p.Nodes)))
	prev = -1
	for i := range p.Nodes {
		n := &p.Nodes[i]
		var ref [4]int64
		j, ok := npos[n.Node]
		var r uint64
		if ok {
			ref = next.Nodes[j].Capacity
			r = 1 + zigzag(int64(j-prev-1))
			prev = j
		}
		b = appendRow(b, r, n.Capacity, ref, !ok, n.Node)
	}
	return b
}

// appendRow writes one row: head, the names of a row without reference,
// then the differences of the values that differ.
func appendRow(b []byte, r uint64, v, ref [4]int64, named bool, names ...string) []byte {
	var mask uint64
	for i := range v {
		if v[i] != ref[i] {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, r<<4|mask)
	if named {
		for _, s := range names {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	for i := range v {
		if mask&(1<<i) != 0 {
			b = binary.AppendVarint(b, v[i]-ref[i])
		}
	}
	return b
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// deltaReader decodes a delta; every read is bounds-checked, so a corrupt
// delta (only a forged snapshot can hold one) is an error, never a panic.
type deltaReader struct {
	b   []byte
	off int
	err error
}

var errDelta = errors.New("corrupt plan delta")

func (d *deltaReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.err = errDelta
		return 0
	}
	d.off += n
	return v
}

func (d *deltaReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.err = errDelta
		return 0
	}
	d.off += n
	return v
}

func (d *deltaReader) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)-d.off) {
		d.err = errDelta
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

// count reads a row count, refusing one the bytes left cannot hold.
func (d *deltaReader) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)-d.off) {
		d.err = errDelta
	}
	return int(n)
}

// row reads one row against refs (the next plan's values); it returns the
// reference position (-1: none, the names were read into names).
func (d *deltaReader) row(prev *int, nrefs int, refs func(int) [4]int64, names []*string) (int, [4]int64) {
	head := d.uvarint()
	r, mask := head>>4, head&0xf
	var v [4]int64
	j := -1
	if r == 0 {
		for _, s := range names {
			*s = d.str()
		}
	} else {
		j = *prev + 1 + int(unzigzag(r-1))
		if j < 0 || j >= nrefs {
			d.err = errDelta
			return -1, v
		}
		*prev = j
		v = refs(j)
	}
	for i := range v {
		if mask&(1<<i) != 0 {
			v[i] += d.varint()
		}
	}
	return j, v
}

// expand rebuilds the plan pp was compacted from, given the plan after it.
func (pp *PastPlan) expand(next *bidding.Plan) (bidding.Plan, error) {
	p := bidding.Plan{Epoch: pp.Epoch, Index: pp.Index, InputIndex: pp.InputIndex, Created: pp.Created, Hash: pp.Hash,
		Stats: pp.Stats, Problems: pp.Problems}
	var err error
	p.Allocations, p.Nodes, err = decodeDelta(pp.Delta, next)
	if err != nil {
		return bidding.Plan{}, fmt.Errorf("plan of epoch %d: %w", pp.Epoch, err)
	}
	return p, nil
}

// decodeDelta rebuilds the allocations and node capacities encodeDelta
// wrote against next (nil or empty as they were). Any malformed byte is
// an error wrapping errDelta, never a panic.
func decodeDelta(b []byte, next *bidding.Plan) ([]bidding.Allocation, []bidding.NodePlan, error) {
	var allocs []bidding.Allocation
	var nodes []bidding.NodePlan
	d := &deltaReader{b: b}
	flags := d.uvarint()
	if n := d.count(); d.err == nil && (n > 0 || flags&1 == 0) {
		allocs = make([]bidding.Allocation, n)
		prev := -1
		for i := range allocs {
			a := &allocs[i]
			j, v := d.row(&prev, len(next.Allocations), func(j int) [4]int64 { return allocValues(&next.Allocations[j]) }, []*string{&a.Service, &a.Node})
			if j >= 0 {
				a.Service, a.Node = next.Allocations[j].Service, next.Allocations[j].Node
			}
			a.CPU, a.Memory, a.IO, a.Net = v[0], v[1], v[2], v[3]
		}
	}
	if n := d.count(); d.err == nil && (n > 0 || flags&2 == 0) {
		nodes = make([]bidding.NodePlan, n)
		prev := -1
		for i := range nodes {
			np := &nodes[i]
			j, v := d.row(&prev, len(next.Nodes), func(j int) [4]int64 { return next.Nodes[j].Capacity }, []*string{&np.Node})
			if j >= 0 {
				np.Node = next.Nodes[j].Node
			}
			np.Capacity = v
		}
	}
	if d.err == nil && d.off != len(d.b) {
		d.err = fmt.Errorf("%w: %d bytes after the last row", errDelta, len(d.b)-d.off)
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return allocs, nodes, nil
}

// demoteLocked moves whole plans beyond the latest WholePlans into the
// past plans, oldest first (each against the one after it, still whole).
func demoteLocked(s *state) {
	eps := sortedEpochs(s.Plans)
	for len(eps) > WholePlans {
		old, next := s.Plans[eps[0]], s.Plans[eps[1]]
		s.Past = append(s.Past, compactPlan(&old, &next))
		delete(s.Plans, eps[0])
		delete(s.planBytes, eps[0])
		eps = eps[1:]
	}
}

// pastAt returns the position of epoch e in s.Past.
func (s *state) pastAt(e uint64) (int, bool) {
	i := sort.Search(len(s.Past), func(i int) bool { return s.Past[i].Epoch >= e })
	return i, i < len(s.Past) && s.Past[i].Epoch == e
}

// pastChain returns what rebuilding past epoch e needs: the past plans
// from e's on (oldest first) and the oldest whole plan. Both are shared,
// never changed (see Snapshot), so the caller may rebuild without the lock.
func (s *state) pastChain(e uint64) ([]PastPlan, bidding.Plan, bool) {
	i, ok := s.pastAt(e)
	eps := sortedEpochs(s.Plans)
	if !ok || len(eps) == 0 {
		return nil, bidding.Plan{}, false
	}
	return s.Past[i:len(s.Past):len(s.Past)], s.Plans[eps[0]], true
}

// rebuildPast decodes chain from its newest entry (against base, the plan
// after it) back to its oldest, and returns that one.
func rebuildPast(chain []PastPlan, base bidding.Plan) bidding.Plan {
	next := base
	for k := len(chain) - 1; k >= 0; k-- {
		p, err := chain[k].expand(&next)
		if err != nil {
			// Written by this package, checked when restored: a bug.
			panic("fsm: " + err.Error())
		}
		next = p
	}
	return next
}

// planAt returns the kept plan of epoch e: whole, or rebuilt from the
// past plans (decoding from the oldest whole plan back to e).
func (s *state) planAt(e uint64) (bidding.Plan, bool) {
	if p, ok := s.Plans[e]; ok {
		return p, true
	}
	chain, base, ok := s.pastChain(e)
	if !ok {
		return bidding.Plan{}, false
	}
	return rebuildPast(chain, base), true
}

// checkPast verifies that every past plan decodes (a restored snapshot),
// so that a corrupt one is refused by Restore instead of panicking later.
func (s *state) checkPast() error {
	eps := sortedEpochs(s.Plans)
	if len(s.Past) == 0 {
		return nil
	}
	if len(eps) == 0 {
		return errors.New("past plans without a whole plan")
	}
	next := s.Plans[eps[0]]
	for k := len(s.Past) - 1; k >= 0; k-- {
		if s.Past[k].Epoch >= next.Epoch {
			return fmt.Errorf("past plan of epoch %d is not before epoch %d", s.Past[k].Epoch, next.Epoch)
		}
		p, err := s.Past[k].expand(&next)
		if err != nil {
			return err
		}
		next = p
	}
	return nil
}

// EachPlan calls fn with every kept plan, newest first, until fn returns
// false. Past plans are rebuilt one delta at a time from the plan after
// them, outside the lock (entries and whole plans are never changed in
// place), so walking the whole history costs one decode per plan, not the
// quadratic cost of calling Plan for each epoch.
func (f *FSM) EachPlan(fn func(bidding.Plan) bool) {
	f.mu.RLock()
	eps := sortedEpochs(f.st.Plans)
	whole := make([]bidding.Plan, len(eps))
	for i, e := range eps {
		whole[i] = f.st.Plans[e]
	}
	past := f.st.Past[:len(f.st.Past):len(f.st.Past)]
	f.mu.RUnlock()
	for i := len(whole) - 1; i >= 0; i-- {
		if !fn(whole[i]) {
			return
		}
	}
	if len(whole) == 0 {
		return
	}
	next := whole[0]
	for k := len(past) - 1; k >= 0; k-- {
		p, err := past[k].expand(&next)
		if err != nil {
			panic("fsm: " + err.Error()) // written by this package, checked when restored
		}
		if !fn(p) {
			return
		}
		next = p
	}
}

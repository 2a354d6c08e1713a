package bidding

import (
	"slices"
	"strings"
)

// NodeSlice is the part of p one node needs: its allocations sorted by
// service, its entry in Nodes (capacity, shadow prices), the plan's
// epoch, indexes, creation time, hash, stats and problems, and NodeHash.
// Explanations are left out. The slices are new; p is not changed.
func NodeSlice(p *Plan, node string) Plan {
	s := Plan{Epoch: p.Epoch, Index: p.Index, InputIndex: p.InputIndex, Created: p.Created, Hash: p.Hash,
		Stats: p.Stats, Problems: p.Problems, Node: node, Allocations: []Allocation{}, Nodes: []NodePlan{}}
	for _, a := range p.Allocations {
		if a.Node == node {
			s.Allocations = append(s.Allocations, a)
		}
	}
	slices.SortStableFunc(s.Allocations, func(a, b Allocation) int { return strings.Compare(a.Service, b.Service) })
	for _, n := range p.Nodes {
		if n.Node == node {
			s.Nodes = append(s.Nodes, n)
		}
	}
	s.NodeHash = NodeHash(node, s.Allocations)
	return s
}

// NodeHash is the SHA-256 ("sha256:…") of a node's allocations, sorted by
// service (as NodeSlice returns them): the same allocations give the same
// hash whatever plan they come from, so a client can tell whether its
// slice changed. It covers the node's name, each service's name and its
// four quantities, in a prefix-free binary encoding.
func NodeHash(node string, allocs []Allocation) string {
	w := newHasher()
	w.str("allot node slice v1")
	w.str(node)
	w.u64(uint64(len(allocs)))
	for _, a := range allocs {
		w.str(a.Service)
		w.i64(a.CPU)
		w.i64(a.Memory)
		w.i64(a.IO)
		w.i64(a.Net)
		w.flushIf()
	}
	return w.sum()
}

// Unchanged returns the stub of slice s for a caller whose slice already
// has s.NodeHash: s without Allocations, Nodes, Stats and Problems.
func Unchanged(s Plan) Plan {
	return Plan{Epoch: s.Epoch, Index: s.Index, InputIndex: s.InputIndex, Created: s.Created, Hash: s.Hash,
		Node: s.Node, NodeHash: s.NodeHash, Unchanged: true}
}

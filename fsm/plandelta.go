package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/allot-dev/allot/bidding"
)

// Plans in the log as deltas (command 18 `commit-plan-delta`, see
// DESIGN.md "Plans in the log").
//
// A plan's allocations are most of its entry (about 130 bytes each as
// msgpack, 13 MB at 100k placements) and mostly repeat the plan before.
// The leader therefore writes them as a delta against the latest committed
// plan — the base, which every replica holds at that log index — in the
// compact history's encoding (pastplans.go: about one byte per unchanged
// allocation). The entry names its base (index, epoch, hash) and carries a
// CRC-32C of the allocations it stands for; Apply rebuilds them from the
// base and refuses the entry, changing nothing, when the base is not the
// latest plan, the delta does not decode or the rebuilt allocations do not
// match the checksum: a replica never stores a plan it misread. The stored
// plan (and so every snapshot and the state hash) is the rebuilt whole plan,
// identical to what a `commit-plan` entry of the same plan stores.

// CommitPlanDelta stores a plan whose allocations are a delta against the
// latest committed plan (the base).
type CommitPlanDelta struct {
	// BaseIndex, BaseEpoch and BaseHash identify the base: the latest
	// plan when the entry was written (its Raft index, epoch and hash).
	BaseIndex uint64 `json:"base_index"`
	BaseEpoch uint64 `json:"base_epoch"`
	BaseHash  string `json:"base_hash"`
	// Plan is the plan without its allocations (nil here: an entry that
	// carries any is refused); its nodes, stats and problems are whole.
	Plan bidding.Plan `json:"plan"`
	// Allocations is the plan's allocations against the base's, in the
	// compact history's delta encoding, node section empty.
	Allocations []byte `json:"allocations"`
	// Sum is AllocationsSum of the plan's allocations.
	Sum uint32 `json:"sum"`
}

// ErrPlanBase is wrapped by the refusal of a commit-plan-delta whose base
// is not this state's latest plan (a leader can then write the whole plan).
var ErrPlanBase = errors.New("plan delta base is not the latest plan")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AllocationsSum is a CRC-32C of allocations in order (names and values)
// and of whether the list is nil: what a commit-plan-delta carries to
// check the allocations a replica rebuilt.
func AllocationsSum(allocs []bidding.Allocation) uint32 {
	b := make([]byte, 0, 64)
	var sum uint32
	if allocs == nil {
		sum = crc32.Update(sum, castagnoli, []byte{1})
	}
	for i := range allocs {
		a := &allocs[i]
		b = b[:0]
		b = binary.AppendUvarint(b, uint64(len(a.Service)))
		b = append(b, a.Service...)
		b = binary.AppendUvarint(b, uint64(len(a.Node)))
		b = append(b, a.Node...)
		for _, v := range allocValues(a) {
			b = binary.AppendVarint(b, v)
		}
		sum = crc32.Update(sum, castagnoli, b)
	}
	return sum
}

// NewCommitPlanDelta is the entry that commits p as a delta against base,
// the latest committed plan (which must carry its Raft index, as every
// plan the FSM returns does). p's explanations are not carried.
func NewCommitPlanDelta(p, base *bidding.Plan) CommitPlanDelta {
	c := CommitPlanDelta{BaseIndex: base.Index, BaseEpoch: base.Epoch, BaseHash: base.Hash, Plan: *p,
		Allocations: encodeDelta(&bidding.Plan{Allocations: p.Allocations}, base), Sum: AllocationsSum(p.Allocations)}
	c.Plan.Allocations = nil
	c.Plan.Explain = nil
	return c
}

// rebuild returns the whole plan c stands for against the latest plan of
// s, or an error (nothing to store) saying why it cannot.
func (c *CommitPlanDelta) rebuild(s *state) (bidding.Plan, error) {
	base, ok := s.Plans[s.latestEpoch()]
	if !ok {
		return bidding.Plan{}, fmt.Errorf("%w: the entry's base is epoch %d at index %d, this state has no plan", ErrPlanBase, c.BaseEpoch, c.BaseIndex)
	}
	if base.Index != c.BaseIndex || base.Epoch != c.BaseEpoch || base.Hash != c.BaseHash {
		return bidding.Plan{}, fmt.Errorf("%w: the entry's base is epoch %d at index %d (%s), the latest plan is epoch %d at index %d (%s)",
			ErrPlanBase, c.BaseEpoch, c.BaseIndex, c.BaseHash, base.Epoch, base.Index, base.Hash)
	}
	if c.Plan.Allocations != nil {
		return bidding.Plan{}, errors.New("plan.allocations: must be empty in a delta entry (they are in allocations)")
	}
	allocs, nodes, err := decodeDelta(c.Allocations, &base)
	if err != nil {
		return bidding.Plan{}, fmt.Errorf("allocations: %w", err)
	}
	if nodes != nil {
		return bidding.Plan{}, fmt.Errorf("allocations: %w: %d node rows (nodes are in the plan)", errDelta, len(nodes))
	}
	if got := AllocationsSum(allocs); got != c.Sum {
		return bidding.Plan{}, fmt.Errorf("allocations: rebuilt against epoch %d they sum to %08x, the entry says %08x", base.Epoch, got, c.Sum)
	}
	p := c.Plan
	p.Allocations = allocs
	return p, nil
}

func applyCommitPlanDelta(s *state, index uint64, c *CommitPlanDelta) error {
	p, err := c.rebuild(s)
	if err != nil {
		return err
	}
	return commitPlanLocked(s, index, p)
}

package fsm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"pgregory.net/rapid"
)

// TestPlanDeltaEqualsWholePlan (rapid): the same random plan sequence
// committed as whole commit-plan entries and as commit-plan-delta entries
// (each against the plan before, the first one whole) leaves the same
// state hash after every entry, under random history bounds, with or
// without the compact history; a replica restored from a snapshot of the
// delta log half-way and fed the rest of it ends with that hash too (the
// snapshot holds whole plans: the base is there).
func TestPlanDeltaEqualsWholePlan(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		st := DefaultSettings()
		st.PlanHistory = rapid.IntRange(1, 6).Draw(rt, "history")
		st.PlanHistoryBytes = rapid.SampledFrom([]int64{0, 300, 1 << 20}).Draw(rt, "bytes")
		st.PlanHistoryFormat = rapid.IntRange(PlanHistoryFull, PlanHistoryCompact).Draw(rt, "format")
		set := mustEncode(rt, CmdSetSettings, SetSettings{Settings: st})
		whole, delta := [][]byte{set}, [][]byte{set}
		var prev *bidding.Plan
		n := rapid.IntRange(1, 10).Draw(rt, "plans")
		for e := uint64(1); e <= uint64(n); e++ {
			p := drawPlan(rt, e, prev)
			whole = append(whole, mustEncode(rt, CmdCommitPlan, CommitPlan{Plan: p}))
			if prev == nil {
				delta = append(delta, whole[len(whole)-1])
			} else {
				delta = append(delta, mustEncode(rt, CmdCommitPlanDelta, NewCommitPlanDelta(&p, prev)))
			}
			p.Index = uint64(len(whole)) // what the FSM stores: the base of the next entry
			prev = &p
		}
		a, b := New(), New()
		for i := range whole {
			ea, eb := a.ApplyCommand(uint64(i+1), whole[i]), b.ApplyCommand(uint64(i+1), delta[i])
			if (ea == nil) != (eb == nil) {
				rt.Fatalf("entry %d: whole %v, delta %v", i+1, ea, eb)
			}
			if a.Hash() != b.Hash() {
				rt.Fatalf("entry %d: the delta replica's state differs from the whole one's", i+1)
			}
		}
		half := rapid.IntRange(1, len(delta)).Draw(rt, "half")
		c := New()
		replay(rt, c, delta[:half])
		d := New()
		if err := d.Restore(io.NopCloser(bytes.NewReader(mustPersist(rt, c)))); err != nil {
			rt.Fatal(err)
		}
		for i := half; i < len(delta); i++ {
			if err := d.ApplyCommand(uint64(i+1), delta[i]); err != nil {
				rt.Fatalf("entry %d after a restore at %d: %v", i+1, half, err)
			}
		}
		if d.Hash() != a.Hash() {
			rt.Fatalf("a replica restored at entry %d diverged", half)
		}
	})
}

// deltaFixture is a state with two plans (the latest at index 3) and the
// plan of epoch 3 as a delta entry against it.
func deltaFixture(t fataler) (*FSM, bidding.Plan, CommitPlanDelta) {
	p1 := bidding.Plan{Epoch: 1, Hash: "sha256:1", Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 100}}}
	p2 := bidding.Plan{Epoch: 2, Hash: "sha256:2", Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 200}, {Service: "db", Node: "n2", CPU: 5}},
		Nodes: []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000}}}}
	f := New()
	replay(t, f, [][]byte{mustEncode(t, CmdSetSettings, SetSettings{Settings: DefaultSettings()}),
		mustEncode(t, CmdCommitPlan, CommitPlan{Plan: p1}), mustEncode(t, CmdCommitPlan, CommitPlan{Plan: p2})})
	base, ok := f.LatestPlan()
	if !ok || base.Index != 3 {
		t.Fatal("latest plan", base)
	}
	p3 := bidding.Plan{Epoch: 3, Hash: "sha256:3", Allocations: []bidding.Allocation{{Service: "db", Node: "n2", CPU: 7}, {Service: "api", Node: "n1", CPU: 1}},
		Nodes: []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000}, ShadowPrice: map[string]float64{"cpu": 1}}}}
	return f, p3, NewCommitPlanDelta(&p3, &base)
}

// TestPlanDeltaRefused: an entry whose base is not the latest plan, whose
// delta does not decode or does not rebuild to its checksum is refused,
// changing nothing but the applied index; the base mismatch is ErrPlanBase.
func TestPlanDeltaRefused(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *CommitPlanDelta)
		want   string
		base   bool // wraps ErrPlanBase
	}{
		{"other base index", func(c *CommitPlanDelta) { c.BaseIndex = 2 }, "index 2", true},
		{"other base epoch", func(c *CommitPlanDelta) { c.BaseEpoch = 1 }, "epoch 1", true},
		{"other base hash", func(c *CommitPlanDelta) { c.BaseHash = "sha256:x" }, "sha256:x", true},
		{"allocations in the plan", func(c *CommitPlanDelta) { c.Plan.Allocations = []bidding.Allocation{} }, "must be empty", false},
		{"truncated delta", func(c *CommitPlanDelta) { c.Allocations = c.Allocations[:len(c.Allocations)-1] }, "corrupt plan delta", false},
		{"trailing byte", func(c *CommitPlanDelta) { c.Allocations = append(append([]byte{}, c.Allocations...), 0) }, "after the last row", false},
		{"node rows", func(c *CommitPlanDelta) {
			c.Allocations = append(append([]byte{}, c.Allocations[:len(c.Allocations)-1]...), 1, 0x10)
		}, "node rows", false},
		{"checksum", func(c *CommitPlanDelta) { c.Sum++ }, "the entry says", false},
		{"epoch not after the latest", func(c *CommitPlanDelta) { c.Plan.Epoch = 2 }, "epoch", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _, c := deltaFixture(t)
			tc.change(&c)
			before := hashIgnoringIndex(f)
			err := f.ApplyCommand(4, mustEncode(t, CmdCommitPlanDelta, c))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			if errors.Is(err, ErrPlanBase) != tc.base {
				t.Fatalf("errors.Is(%v, ErrPlanBase) = %v", err, !tc.base)
			}
			if hashIgnoringIndex(f) != before {
				t.Fatal("a refused delta changed the state")
			}
		})
	}
	t.Run("no plan yet", func(t *testing.T) {
		_, _, c := deltaFixture(t)
		f := New()
		if err := f.ApplyCommand(1, mustEncode(t, CmdCommitPlanDelta, c)); !errors.Is(err, ErrPlanBase) {
			t.Fatalf("error %v, want ErrPlanBase", err)
		}
	})
	t.Run("accepted", func(t *testing.T) {
		f, p3, c := deltaFixture(t)
		if err := f.ApplyCommand(4, mustEncode(t, CmdCommitPlanDelta, c)); err != nil {
			t.Fatal(err)
		}
		got, _ := f.LatestPlan()
		p3.Index = 4
		if jsonOf(t, got) != jsonOf(t, p3) {
			t.Fatalf("stored\n%s\nwant\n%s", jsonOf(t, got), jsonOf(t, p3))
		}
	})
}

// FuzzPlanDelta: any delta bytes and checksum in a commit-plan-delta
// entry against a fixed base either are refused, changing nothing, or
// store a plan whose allocations match the checksum; never a panic.
func FuzzPlanDelta(f *testing.F) {
	_, _, c := deltaFixture(f)
	f.Add(c.Allocations, c.Sum)
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{1, 0, 2, 0}, AllocationsSum(nil))
	f.Add([]byte{2, 1, 0x10, 0}, uint32(0))
	f.Fuzz(func(t *testing.T, delta []byte, sum uint32) {
		fs, _, c := deltaFixture(t)
		c.Allocations, c.Sum = delta, sum
		before := hashIgnoringIndex(fs)
		if err := fs.ApplyCommand(4, mustEncode(t, CmdCommitPlanDelta, c)); err != nil {
			if hashIgnoringIndex(fs) != before {
				t.Fatalf("refused (%v) but changed the state", err)
			}
			return
		}
		got, ok := fs.LatestPlan()
		if !ok || got.Epoch != 3 || AllocationsSum(got.Allocations) != sum {
			t.Fatalf("stored %+v against checksum %08x", got, sum)
		}
		_ = fs.Hash()
	})
}

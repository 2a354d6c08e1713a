package fsm

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// bigPlan is a plan of epoch e with n placements on node n1, each
// explained.
func bigPlan(e uint64, n int) bidding.Plan {
	p := bidding.Plan{Epoch: e, Hash: fmt.Sprintf("sha256:%d", e)}
	for i := range n {
		svc := fmt.Sprintf("svc-%04d", i)
		p.Allocations = append(p.Allocations, bidding.Allocation{Service: svc, Node: "n1", CPU: int64(100 + i)})
		p.Explain = append(p.Explain, bidding.Explanation{Service: svc, Node: "n1", Weight: 4, Boost: 1,
			Resources: map[string]bidding.ResExplain{"cpu": {Floor: 100, Granted: int64(100 + i), Binding: "none"}}})
	}
	return p
}

func TestPlansAreStoredWithoutExplanations(t *testing.T) {
	f := New()
	if err := f.ApplyCommand(1, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bigPlan(1, 3)})); err != nil {
		t.Fatal(err)
	}
	p, _ := f.LatestPlan()
	if p.Explain != nil || len(p.Allocations) != 3 {
		t.Fatalf("stored plan: %d explanations, %d allocations", len(p.Explain), len(p.Allocations))
	}
	snap, _ := f.Snapshot()
	var sink memSink
	_ = snap.Persist(&sink)
	if bytes.Contains(sink.Bytes(), []byte(`"explain"`)) {
		t.Fatalf("explanations in the snapshot: %s", sink.Bytes())
	}
	// A snapshot written before plans were stored without explanations
	// loses them on Restore.
	old := bytes.Replace(sink.Bytes(), []byte(`"allocations":`), []byte(`"explain":[{"service":"svc-0000","node":"n1","weight":4,"boost":1,"resources":{}}],"allocations":`), 1)
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(old))); err != nil {
		t.Fatal(err)
	}
	if q, _ := g.LatestPlan(); q.Explain != nil || g.Hash() != f.Hash() {
		t.Fatalf("restored plan keeps %d explanations; hashes %s vs %s", len(q.Explain), g.Hash(), f.Hash())
	}
}

func TestPlanHistoryTrimmedByBytes(t *testing.T) {
	one := New()
	for e := uint64(1); e <= 3; e++ {
		if err := one.ApplyCommand(e, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bigPlan(e, 100)})); err != nil {
			t.Fatal(err)
		}
	}
	one.mu.Lock()
	size, past := one.st.planSize(3), one.st.Past[0].Size // a whole plan, as the bound counts it; a past one like the next
	one.mu.Unlock()
	cases := []struct {
		name    string
		format  int   // plan_history_format
		history int   // plan_history
		bytes   int64 // plan_history_bytes
		plans   int   // committed
		want    []uint64
	}{
		{"count binds", PlanHistoryFull, 3, 100 * size, 10, []uint64{8, 9, 10}},
		{"bytes bind", PlanHistoryFull, 100, 4*size + size/2, 10, []uint64{7, 8, 9, 10}},
		{"latest always kept", PlanHistoryFull, 100, 1, 3, []uint64{3}},
		{"no byte bound (older states)", PlanHistoryFull, 5, 0, 10, []uint64{6, 7, 8, 9, 10}},
		{"compact: count binds", PlanHistoryCompact, 3, 100 * size, 10, []uint64{8, 9, 10}},
		{"compact: one kept", PlanHistoryCompact, 1, 100 * size, 10, []uint64{10}},
		{"compact: bytes bind past plans", PlanHistoryCompact, 100, 2*size + 4*past + past/2, 10, []uint64{5, 6, 7, 8, 9, 10}},
		{"compact: bytes bind whole plans", PlanHistoryCompact, 100, size + size/2, 10, []uint64{10}},
		{"compact: latest always kept", PlanHistoryCompact, 100, 1, 3, []uint64{3}},
		{"compact: no byte bound", PlanHistoryCompact, 5, 0, 10, []uint64{6, 7, 8, 9, 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := DefaultSettings()
			st.PlanHistory, st.PlanHistoryBytes, st.PlanHistoryFormat = c.history, c.bytes, c.format
			f := New()
			idx := uint64(1)
			if err := f.ApplyCommand(idx, mustEncode(t, CmdSetSettings, SetSettings{Settings: st})); err != nil {
				t.Fatal(err)
			}
			for e := 1; e <= c.plans; e++ {
				idx++
				if err := f.ApplyCommand(idx, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bigPlan(uint64(e), 100)})); err != nil {
					t.Fatal(err)
				}
			}
			got := f.PlanEpochs()
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("kept epochs %v, want %v", got, c.want)
			}
			if c.bytes > 0 && len(got) > 1 && f.PlanHistoryBytes() > c.bytes {
				t.Fatalf("kept %d bytes, bound %d", f.PlanHistoryBytes(), c.bytes)
			}
			for _, e := range got {
				p, ok := f.Plan(e)
				want := bigPlan(e, 100)
				if !ok || fmt.Sprint(p.Allocations) != fmt.Sprint(want.Allocations) || p.Epoch != e {
					t.Fatalf("plan of epoch %d: %v %+v", e, ok, p)
				}
			}
			// A replica restored from a snapshot trims the same way.
			snap, _ := f.Snapshot()
			var sink memSink
			_ = snap.Persist(&sink)
			g := New()
			if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
				t.Fatal(err)
			}
			next := mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bigPlan(uint64(c.plans+1), 100)})
			_ = f.ApplyCommand(idx+1, next)
			_ = g.ApplyCommand(idx+1, next)
			if f.Hash() != g.Hash() {
				t.Fatalf("restored replica diverged: %v vs %v", f.PlanEpochs(), g.PlanEpochs())
			}
		})
	}
}

func TestPlanByIndexAndHasNode(t *testing.T) {
	f := New()
	replay(t, f, sampleLog(t))
	p, _ := f.LatestPlan()
	q, ok := f.PlanByIndex(p.Index)
	if !ok || q.Epoch != p.Epoch {
		t.Fatalf("plan at index %d: %+v %v", p.Index, q, ok)
	}
	if _, ok := f.PlanByIndex(p.Index + 1); ok {
		t.Fatalf("a plan at an index that holds none")
	}
	for _, c := range []struct {
		node string
		want bool
	}{{"n1", true}, {"n2", false}, {"nowhere", false}} { // n2 was removed and has no allocation
		if got := f.HasNode(c.node); got != c.want {
			t.Errorf("HasNode(%s) = %v, want %v", c.node, got, c.want)
		}
	}
}

// BenchmarkCommitPlan is Apply of a 10k-placement plan (decode, store,
// size it for plan_history_bytes, trim), as every replica runs it.
func BenchmarkCommitPlan(b *testing.B) {
	f := New()
	data := make([][]byte, b.N)
	for i := range data {
		p := bigPlan(uint64(i+1), 10000)
		p.Explain = nil
		data[i] = mustEncode(b, CmdCommitPlan, CommitPlan{Plan: p})
	}
	b.ResetTimer()
	for i := range b.N {
		if err := f.ApplyCommand(uint64(i+1), data[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.PlanHistoryBytes())/float64(len(f.PlanEpochs())), "kept-bytes/plan")
}

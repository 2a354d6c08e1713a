package fsm

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"pgregory.net/rapid"
)

var updatePast = flag.Bool("update-past", false, "rewrite testdata/snapshot-v3.golden")

// asPast is what a past plan shows of a committed plan p at index: all of
// it but the node shadow prices (and what is never stored).
func asPast(p bidding.Plan, index uint64) bidding.Plan {
	p.Index, p.Explain = index, nil
	p.Node, p.NodeHash, p.Unchanged = "", "", false
	if p.Nodes != nil {
		ns := make([]bidding.NodePlan, len(p.Nodes))
		for i, n := range p.Nodes {
			ns[i] = bidding.NodePlan{Node: n.Node, Capacity: n.Capacity}
		}
		p.Nodes = ns
	}
	return p
}

// drawPlan draws a plan of epoch e, often like prev: placements come and
// go, values change or not, nodes too; nil and empty lists both occur.
func drawPlan(rt *rapid.T, e uint64, prev *bidding.Plan) bidding.Plan {
	svcs, nodes := []string{"web", "db", "batch", "api"}, []string{"n1", "n2", "n3"}
	p := bidding.Plan{Epoch: e, InputIndex: e * 3, Hash: fmt.Sprintf("sha256:%d", e),
		Created: time.Date(2026, 12, 1, 0, 0, int(e), 0, time.FixedZone("X", 3600*int(e%3))),
		Stats:   bidding.Stats{Bids: int(e), SolveMS: float64(e) / 4}}
	if rapid.Bool().Draw(rt, "problems") {
		p.Problems = []string{fmt.Sprintf("problem %d", e)}
	}
	val := func(old int64, label string) int64 {
		if rapid.IntRange(0, 3).Draw(rt, label+"-same") > 0 {
			return old
		}
		return rapid.Int64Range(-1, 1<<40).Draw(rt, label)
	}
	if prev != nil && rapid.IntRange(0, 3).Draw(rt, "like-prev") > 0 {
		for _, a := range prev.Allocations {
			if rapid.IntRange(0, 9).Draw(rt, "keep") > 0 {
				p.Allocations = append(p.Allocations, bidding.Allocation{Service: a.Service, Node: a.Node,
					CPU: val(a.CPU, "cpu"), Memory: val(a.Memory, "mem"), IO: val(a.IO, "io"), Net: val(a.Net, "net")})
			}
		}
		for _, n := range prev.Nodes {
			if rapid.IntRange(0, 9).Draw(rt, "keep-node") > 0 {
				n.Capacity[0] = val(n.Capacity[0], "cap")
				p.Nodes = append(p.Nodes, bidding.NodePlan{Node: n.Node, Capacity: n.Capacity, ShadowPrice: map[string]float64{"cpu": 0.5}})
			}
		}
	}
	for range rapid.IntRange(0, 4).Draw(rt, "new") {
		p.Allocations = append(p.Allocations, bidding.Allocation{Service: rapid.SampledFrom(svcs).Draw(rt, "svc"),
			Node: rapid.SampledFrom(nodes).Draw(rt, "node"), CPU: rapid.Int64Range(0, 4000).Draw(rt, "ncpu"),
			Memory: rapid.Int64Range(0, 1<<33).Draw(rt, "nmem")})
	}
	if rapid.Bool().Draw(rt, "shuffle") && len(p.Allocations) > 1 {
		i := rapid.IntRange(0, len(p.Allocations)-1).Draw(rt, "swap")
		p.Allocations[0], p.Allocations[i] = p.Allocations[i], p.Allocations[0]
	}
	if rapid.Bool().Draw(rt, "add-node") {
		p.Nodes = append(p.Nodes, bidding.NodePlan{Node: rapid.SampledFrom(nodes).Draw(rt, "nnode"), Capacity: bidding.Vec{4000, 8 << 30, 0, 1}})
	}
	if p.Allocations == nil && rapid.Bool().Draw(rt, "empty-allocs") {
		p.Allocations = []bidding.Allocation{}
	}
	if p.Nodes == nil && rapid.Bool().Draw(rt, "empty-nodes") {
		p.Nodes = []bidding.NodePlan{}
	}
	return p
}

// TestPastPlansShowWhatFullPlansWould (rapid): committing random plans
// with the compact history keeps the same epochs as counting whole plans
// would (count bound), and every kept epoch reads back as the committed
// plan (less node shadow prices), by epoch and by index, from the live
// FSM and from one restored from its snapshot; a replica restored
// half-way and fed the rest ends with the same state hash.
func TestPastPlansShowWhatFullPlansWould(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		st := DefaultSettings()
		st.PlanHistory = rapid.IntRange(1, 8).Draw(rt, "history")
		if rapid.Bool().Draw(rt, "byte-bound") {
			st.PlanHistoryBytes = rapid.Int64Range(1, 4000).Draw(rt, "bytes")
		} else {
			st.PlanHistoryBytes = 0
		}
		log := [][]byte{mustEncode(rt, CmdSetSettings, SetSettings{Settings: st})}
		committed := map[uint64]bidding.Plan{} // by epoch, as a past plan shows it
		var prev *bidding.Plan
		n := rapid.IntRange(1, 14).Draw(rt, "plans")
		for e := uint64(1); e <= uint64(n); e++ {
			p := drawPlan(rt, e, prev)
			prev = &p
			log = append(log, mustEncode(rt, CmdCommitPlan, CommitPlan{Plan: p}))
			committed[e] = asPast(p, uint64(len(log)))
		}
		half := rapid.IntRange(1, len(log)).Draw(rt, "half")
		a := New()
		replay(rt, a, log[:half])
		b := New()
		if err := b.Restore(io.NopCloser(bytes.NewReader(mustPersist(rt, a)))); err != nil {
			rt.Fatal(err)
		}
		for i := half; i < len(log); i++ {
			_ = a.ApplyCommand(uint64(i+1), log[i])
			_ = b.ApplyCommand(uint64(i+1), log[i])
		}
		if a.Hash() != b.Hash() {
			rt.Fatalf("a replica restored at entry %d diverged", half)
		}
		c := New()
		if err := c.Restore(io.NopCloser(bytes.NewReader(mustPersist(rt, a)))); err != nil {
			rt.Fatal(err)
		}
		eps := a.PlanEpochs()
		if len(eps) == 0 || eps[len(eps)-1] != uint64(n) {
			rt.Fatalf("kept epochs %v: the latest %d is missing", eps, n)
		}
		if st.PlanHistoryBytes == 0 && len(eps) != min(n, st.PlanHistory) {
			rt.Fatalf("kept %d epochs, want %d", len(eps), min(n, st.PlanHistory))
		}
		if st.PlanHistoryBytes > 0 && len(eps) > 1 && a.PlanHistoryBytes() > st.PlanHistoryBytes {
			rt.Fatalf("kept %d bytes, bound %d", a.PlanHistoryBytes(), st.PlanHistoryBytes)
		}
		for i, e := range eps {
			if i > 0 && e != eps[i-1]+1 {
				rt.Fatalf("kept epochs %v are not the latest ones", eps)
			}
			want := jsonOf(t, committed[e])
			whole := i >= len(eps)-WholePlans
			for name, f := range map[string]*FSM{"live": a, "restored": c} {
				p, ok := f.Plan(e)
				if whole {
					p = asPast(p, p.Index)
				}
				if got := jsonOf(t, p); !ok || got != want {
					rt.Fatalf("%s: epoch %d reads\n%s\nwant\n%s", name, e, got, want)
				}
				q, ok := f.PlanByIndex(committed[e].Index)
				if whole {
					q = asPast(q, q.Index)
				}
				if !ok || jsonOf(t, q) != want {
					rt.Fatalf("%s: the plan at index %d is not epoch %d's", name, committed[e].Index, e)
				}
			}
		}
		// EachPlan walks the same plans, newest first, as Plan reads them one by one.
		k := len(eps)
		a.EachPlan(func(p bidding.Plan) bool {
			k--
			if k < 0 || p.Epoch != eps[k] {
				rt.Fatalf("EachPlan gave epoch %d at position %d of %v", p.Epoch, len(eps)-1-k, eps)
			}
			q, _ := a.Plan(p.Epoch)
			if jsonOf(t, p) != jsonOf(t, q) {
				rt.Fatalf("EachPlan's epoch %d differs from Plan's", p.Epoch)
			}
			return true
		})
		if k != 0 {
			rt.Fatalf("EachPlan gave %d of %d plans", len(eps)-k, len(eps))
		}
	})
}

// TestOldSnapshotMigrates: a version 2 snapshot written by the build
// before compact history (six plans committed, four kept whole; generated
// then, not by this build) restores to the very same state (same hash:
// nothing misread), keeps its plans whole (format 0) until a leader sets
// plan_history_format 1, and then converts at the next plan with every
// old plan still readable. The format never goes back.
func TestOldSnapshotMigrates(t *testing.T) {
	old, err := os.ReadFile("testdata/snapshot-v2-full-plans.golden")
	if err != nil {
		t.Fatal(err)
	}
	wantHash, _ := os.ReadFile("testdata/snapshot-v2-full-plans.hash")
	f := New()
	if err := f.Restore(io.NopCloser(bytes.NewReader(old))); err != nil {
		t.Fatal(err)
	}
	if got := f.Hash(); got != strings.TrimSpace(string(wantHash)) {
		t.Fatalf("restored hash %s, the old build's was %s", got, wantHash)
	}
	before := map[uint64]bidding.Plan{}
	for _, e := range f.PlanEpochs() {
		p, _ := f.Plan(e)
		before[e] = p
	}
	if fmt.Sprint(f.PlanEpochs()) != "[3 4 5 6]" || len(f.st.Past) != 0 {
		t.Fatalf("kept %v, %d past", f.PlanEpochs(), len(f.st.Past))
	}
	set, _ := f.Settings()
	if set.PlanHistoryFormat != PlanHistoryFull {
		t.Fatalf("an old state reads as format %d", set.PlanHistoryFormat)
	}
	idx := f.Index()
	set.PlanHistoryFormat = PlanHistoryCompact
	set.PlanHistory = 5
	if err := f.ApplyCommand(idx+1, mustEncode(t, CmdSetSettings, SetSettings{Settings: set})); err != nil {
		t.Fatal(err)
	}
	if len(f.st.Past) != 0 {
		t.Fatal("settings converted the plans before the next plan")
	}
	next, _ := f.LatestPlan()
	next.Epoch, next.Hash = 7, "sha256:7"
	if err := f.ApplyCommand(idx+2, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: next})); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.PlanEpochs()) != "[3 4 5 6 7]" || len(f.st.Past) != 3 {
		t.Fatalf("after the first compact plan: kept %v, %d past", f.PlanEpochs(), len(f.st.Past))
	}
	for e, p := range before {
		got, ok := f.Plan(e)
		if e < 6 {
			p = asPast(p, p.Index)
		}
		if !ok || jsonOf(t, got) != jsonOf(t, p) {
			t.Fatalf("epoch %d after the conversion:\n%s\nwant\n%s", e, jsonOf(t, got), jsonOf(t, p))
		}
	}
	set.PlanHistoryFormat = PlanHistoryFull
	err = f.ApplyCommand(idx+3, mustEncode(t, CmdSetSettings, SetSettings{Settings: set}))
	if err == nil || !strings.Contains(err.Error(), "plan_history_format 0 would go back from 1") {
		t.Fatalf("lowering the format: %v", err)
	}
	// The set-settings entry of the build before (no format field) reads as format 0.
	oldSet, _ := os.ReadFile("testdata/set-settings-format0.msgpack")
	_, cmd, err := Decode(oldSet)
	if err != nil || cmd.(*SetSettings).Settings.PlanHistoryFormat != PlanHistoryFull {
		t.Fatalf("old set-settings: %v %+v", err, cmd)
	}
}

// pastLog is a fixed log whose state keeps past plans (for the golden).
func pastLog(t fataler) [][]byte {
	var log [][]byte
	add := func(ct CommandType, v any) { log = append(log, mustEncode(t, ct, v)) }
	st := DefaultSettings()
	st.PlanHistory = 5
	add(CmdSetSettings, SetSettings{Settings: st})
	add(CmdUpsertMember, UpsertMember{Member: member("id-1", "n1")})
	cet := time.FixedZone("CET", 3600)
	for e := uint64(1); e <= 7; e++ {
		p := bidding.Plan{Epoch: e, InputIndex: uint64(len(log)), Created: time.Date(2026, 12, 1, 11, 0, int(e), 0, cet), Hash: fmt.Sprintf("sha256:%d", e),
			Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 600 + int64(e%3)*100, Memory: 256 << 20}, {Service: "db", Node: "n2", CPU: 300, Net: -1}},
			Nodes:       []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000, 8 << 30}, ShadowPrice: map[string]float64{"cpu": 0.25}}},
			Stats:       bidding.Stats{SolveMS: 1.5, Bids: 2, Services: 2, Iterations: int(e)}}
		switch e {
		case 3:
			p.Allocations = p.Allocations[:1]
			p.Problems = []string{"db: min above n2's capacity"}
		case 5:
			p.Allocations = append(p.Allocations, bidding.Allocation{Service: "db", Node: "n1", CPU: 150})
			p.Nodes = append(p.Nodes, bidding.NodePlan{Node: "n2", Capacity: bidding.Vec{2000, 4 << 30}})
		}
		add(CmdCommitPlan, CommitPlan{Plan: p})
	}
	return log
}

// TestSnapshotV3Golden pins the bytes of a version 3 snapshot holding
// past plans: the fixed log's state persists to them, and they restore
// to the same state and persist to themselves. Regenerate deliberately
// with go test ./fsm -run SnapshotV3Golden -update-past.
func TestSnapshotV3Golden(t *testing.T) {
	f := New()
	replay(t, f, pastLog(t))
	if len(f.st.Past) != 3 {
		t.Fatalf("%d past plans, want 3", len(f.st.Past))
	}
	got := mustPersist(t, f)
	const path = "testdata/snapshot-v3.golden"
	if *updatePast {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the snapshot of the fixed log changed (%d bytes, golden %d); %s", len(got), len(want), regenerate)
	}
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(want))); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != f.Hash() || !bytes.Equal(mustPersist(t, g), want) {
		t.Fatal("the golden snapshot does not restore to the state it was taken from")
	}
	p, ok := g.Plan(3)
	if !ok || len(p.Allocations) != 1 || p.Problems[0] != "db: min above n2's capacity" || p.Nodes[0].ShadowPrice != nil {
		t.Fatalf("epoch 3 from the golden: %+v", p)
	}
}

// TestCorruptPastPlanRefused: a snapshot whose past plan does not decode
// is refused by Restore, naming it, and the state is unchanged.
func TestCorruptPastPlanRefused(t *testing.T) {
	f := New()
	replay(t, f, pastLog(t))
	view := f.st.clone()
	view.Past[0].Delta = append([]byte{}, 0, 9) // nine allocations in no bytes
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, view); err != nil {
		t.Fatal(err)
	}
	g := New()
	err := g.Restore(io.NopCloser(&buf))
	if err == nil || !strings.Contains(err.Error(), "plan of epoch 3: corrupt plan delta") {
		t.Fatalf("restoring a corrupt past plan: %v", err)
	}
	if len(g.PlanEpochs()) != 0 {
		t.Fatal("a refused snapshot changed the state")
	}
}

// FuzzPastPlanDelta: any delta bytes decode to a plan or an error, never
// a panic or a huge allocation.
func FuzzPastPlanDelta(f *testing.F) {
	replayF := New()
	replay(f, replayF, pastLog(f))
	for _, pp := range replayF.st.Past {
		f.Add(pp.Delta)
	}
	next, _ := replayF.LatestPlan()
	f.Fuzz(func(t *testing.T, delta []byte) {
		pp := PastPlan{Epoch: 1, Delta: delta}
		p, err := pp.expand(&next)
		if err == nil {
			if _, jerr := json.Marshal(p); jerr != nil {
				t.Fatal(jerr)
			}
		}
	})
}

// TestReadPastPlansWhileApplying: past plans are rebuilt outside the lock
// from shared entries, while plans are committed, demoted and trimmed (run
// with -race); each read is the plan as committed.
func TestReadPastPlansWhileApplying(t *testing.T) {
	f := New()
	st := DefaultSettings()
	st.PlanHistory = 6
	if err := f.ApplyCommand(1, mustEncode(t, CmdSetSettings, SetSettings{Settings: st})); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan string, 1)
	go func() {
		defer close(done)
		for range 200 {
			for _, e := range f.PlanEpochs() {
				p, ok := f.Plan(e)
				if ok && (len(p.Allocations) != 100 || p.Allocations[0].CPU != 100) {
					select {
					case errs <- fmt.Sprintf("epoch %d read as %d allocations", e, len(p.Allocations)):
					default:
					}
				}
				if ok {
					_, _ = f.PlanByIndex(p.Index)
				}
			}
		}
	}()
	for e := uint64(1); e <= 40; e++ {
		if err := f.ApplyCommand(e+1, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bigPlan(e, 100)})); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	select {
	case msg := <-errs:
		t.Fatal(msg)
	default:
	}
}

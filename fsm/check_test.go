package fsm

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Finding 4 of issue 13: one changed byte in a follower's log gave it
// different state forever, and nothing compared replicas. Now the state
// check that follows each plan names the divergence.
func TestStateCheckFindsDivergence(t *testing.T) {
	leader, follower := New(), New()
	var seen []Divergence
	follower.OnDivergence(func(d Divergence) { seen = append(seen, d) })
	leader.OnDivergence(func(d Divergence) { t.Errorf("the leader diverged from itself: %v", d) })
	apply := func(f *FSM, i uint64, ct CommandType, v any) {
		t.Helper()
		if err := f.ApplyCommand(i, mustEncode(t, ct, v)); err != nil {
			t.Fatal(err)
		}
	}
	both := func(i uint64, ct CommandType, v any) { apply(leader, i, ct, v); apply(follower, i, ct, v) }
	both(1, CmdRegisterService, RegisterService{Service: svc("web", bidding.ClassCritical)})
	// Index 2: the follower's copy of the entry had one byte changed (weight 3 → 9).
	w3, w9 := svc("api", bidding.ClassStandard), svc("api", bidding.ClassStandard)
	w3.Weight, w9.Weight = 3, 9
	apply(leader, 2, CmdRegisterService, RegisterService{Service: w3})
	apply(follower, 2, CmdRegisterService, RegisterService{Service: w9})
	both(3, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 1}})

	h, ok := leader.WaitPlanHash(ctxFor(t), 3)
	if !ok {
		t.Fatal("the leader kept no hash for its plan")
	}
	both(4, CmdStateCheck, StateCheck{Index: 3, Hash: h, Leader: "n1"})
	follower.WaitPlanHash(ctxFor(t), 3)
	follower.hashing.Wait()
	if len(seen) != 1 || seen[0].Index != 3 || seen[0].Leader != "n1" || seen[0].LeaderHash != h {
		t.Fatalf("divergences seen: %+v", seen)
	}
	if n, d := follower.Divergences(); n != 1 || d == nil || !strings.Contains(d.String(), "index 3") {
		t.Fatalf("Divergences: %d %v", n, d)
	}
	if n, _ := leader.Divergences(); n != 0 {
		t.Fatalf("leader counted %d divergences", n)
	}
	if leader.Hash() == follower.Hash() {
		t.Fatal("test setup: the states should differ")
	}
	both(5, CmdStateCheck, StateCheck{Index: 99, Hash: h, Leader: "n1"}) // no hash kept for 99: skipped
	if n, _ := follower.Divergences(); n != 1 {
		t.Fatalf("a check without a local hash counted: %d", n)
	}
}

func TestStateCheckRefusesBadHash(t *testing.T) {
	f := New()
	if err := f.ApplyCommand(1, mustEncode(t, CmdStateCheck, StateCheck{Index: 1, Hash: "zz"})); err == nil {
		t.Fatal("a malformed hash was accepted")
	}
}

func TestPlanHashesBounded(t *testing.T) {
	p := planHashes{}
	for i := uint64(1); i <= 100; i++ {
		p.add(i, "h")
	}
	if _, ok := p[100-keptChecks+1]; len(p) != keptChecks || !ok {
		t.Fatalf("kept %d hashes", len(p))
	}
}

// The check hash is the same on a server restored from a snapshot as on
// one that applied the log, and it covers the plans (by digest).
func TestCheckHashAfterRestoreAndPlanChange(t *testing.T) {
	a := New()
	for i, c := range []struct {
		ct CommandType
		v  any
	}{
		{CmdRegisterService, RegisterService{Service: svc("web", bidding.ClassCritical)}},
		{CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 1, Hash: "h1", Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 100}}}}},
		{CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 2, Hash: "h2"}}},
	} {
		if err := a.ApplyCommand(uint64(i+1), mustEncode(t, c.ct, c.v)); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := a.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	b := New()
	if err := b.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	ha := a.checkHash(a.st, a.digestGen)
	b.mu.Lock()
	hb := b.checkHash(b.st, b.digestGen)
	// One changed allocation in a kept plan changes the check hash.
	p := b.st.Plans[1]
	p.Allocations = []bidding.Allocation{{Service: "web", Node: "n1", CPU: 900}}
	b.st.Plans[1] = p
	b.planDigests = nil
	hc := b.checkHash(b.st, b.digestGen)
	b.mu.Unlock()
	if ha != hb {
		t.Fatalf("check hash differs after a restore: %s vs %s", ha, hb)
	}
	if hc == hb {
		t.Fatal("a changed plan allocation left the check hash alone")
	}
}

// Issue 13: the state is checked after every plan at any epoch length (it
// used to be every ceil(30 s/epoch)-th plan, so a one-byte change went
// unseen for up to 300 epochs of 100 ms).
func TestEveryPlanCheckedAtShortEpochs(t *testing.T) {
	f := New()
	set := DefaultSettings()
	set.EpochMS = 100
	f.st.Settings = &set
	for i := uint64(1); i <= 20; i++ {
		if err := f.ApplyCommand(i, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: i}})); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.WaitPlanHash(ctxFor(t), i); !ok {
			t.Fatalf("no state hash for the plan at index %d (100 ms epochs)", i)
		}
	}
}

// A plan that finds maxQueuedHashes plans already waiting to be hashed is
// not hashed (no pile-up behind fast epochs on a large state), and never
// raises a false divergence: its check is dropped, and WaitPlanHash does
// not wait for it.
func TestFullHashQueueSkipsAPlan(t *testing.T) {
	f := New()
	var seen []Divergence
	f.OnDivergence(func(d Divergence) { seen = append(seen, d) })
	f.mu.Lock()
	for i := uint64(1); i <= maxQueuedHashes; i++ { // plans waiting for a slow hash
		f.hashQueue = append(f.hashQueue, hashJob{index: i})
	}
	f.lastPlan = maxQueuedHashes
	f.mu.Unlock()
	next := uint64(maxQueuedHashes + 1)
	for i := next; i <= next+1; i++ {
		if err := f.ApplyCommand(i, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: i}})); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.HashesSkipped(); n != 2 {
		t.Fatalf("%d plans skipped with a full queue, want 2", n)
	}
	if _, ok := f.WaitPlanHash(ctxFor(t), next); ok {
		t.Fatal("a hash for a skipped plan")
	}
	bogus := strings.Repeat("ab", 32)
	if err := f.ApplyCommand(next+2, mustEncode(t, CmdStateCheck, StateCheck{Index: next, Hash: bogus, Leader: "n1"})); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	waiting := len(f.pending)
	f.hashQueue = nil // the slow hashes end
	f.mu.Unlock()
	if waiting != 0 {
		t.Fatalf("%d checks for skipped plans wait", waiting)
	}
	if len(seen) != 0 {
		t.Fatalf("divergences from skipped plans: %+v", seen)
	}
	// The next plan is hashed again.
	if err := f.ApplyCommand(next+3, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: next + 2}})); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.WaitPlanHash(ctxFor(t), next+3); !ok {
		t.Fatal("no hash for the plan after the full queue")
	}
}

// A replay (a restart, a catch-up) applies many plans at once: each is
// queued and hashed, in order, so the first plan after a changed entry is
// still the one whose check finds it.
func TestReplayHashesEveryPlan(t *testing.T) {
	f := New()
	for i := uint64(1); i <= maxQueuedHashes; i++ {
		if err := f.ApplyCommand(i, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: i}})); err != nil {
			t.Fatal(err)
		}
	}
	f.hashing.Wait()
	for i := uint64(1); i <= maxQueuedHashes; i++ {
		if _, ok := f.PlanHash(i); !ok {
			t.Fatalf("no hash for the replayed plan at index %d", i)
		}
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// BenchmarkCheckHash is the cost of one state check, now taken after every
// plan: go test ./fsm -run XXX -bench CheckHash -benchmem
// (1000 nodes × 10 services, 3 bids each, 20 kept plans; plan digests cached).
func BenchmarkCheckHash(b *testing.B) {
	f := benchFSM(b, 1000, 10, 20)
	f.checkHash(f.st.clone(), f.digestGen) // fills the plan digest cache, as the previous plan did
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.checkHash(f.st.clone(), f.digestGen)
	}
}

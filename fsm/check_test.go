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

func TestChecksPlanSpacing(t *testing.T) {
	s := newState()
	set := DefaultSettings()
	set.EpochMS = 1000 // 1 s epochs: every 30th plan
	s.Settings = &set
	n := 0
	for e := uint64(1); e <= 90; e++ {
		if s.checksPlan(e) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d of 90 one-second plans checked, want 3", n)
	}
	set.EpochMS = 300000
	if !s.checksPlan(7) {
		t.Fatal("a 5-minute plan not checked")
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

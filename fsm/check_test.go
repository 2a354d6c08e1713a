package fsm

import (
	"strings"
	"testing"

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

	h, ok := leader.PlanHash(3)
	if !ok {
		t.Fatal("the leader kept no hash for its plan")
	}
	both(4, CmdStateCheck, StateCheck{Index: 3, Hash: h, Leader: "n1"})
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

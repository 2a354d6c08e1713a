package fsm

import (
	"fmt"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"pgregory.net/rapid"
)

// batchBase is a state bids can be valid against: two client nodes, two
// services, plans up to epoch 2 (so epochs 0 to 6 are inside the window).
func batchBase(t fataler) [][]byte {
	var log [][]byte
	add := func(ct CommandType, v any) { log = append(log, mustEncode(t, ct, v)) }
	add(CmdSetSettings, SetSettings{Settings: DefaultSettings()})
	add(CmdUpsertMember, UpsertMember{Member: member("id-1", "n1")})
	add(CmdUpsertMember, UpsertMember{Member: member("id-2", "n2")})
	add(CmdRegisterService, RegisterService{Service: svc("web", bidding.ClassCritical)})
	add(CmdRegisterService, RegisterService{Service: svc("db", bidding.ClassStandard)})
	for e := uint64(1); e <= 2; e++ {
		add(CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: e, Hash: "sha256:x"}})
	}
	return log
}

// TestBatchEqualsSequential: applying requests as one submit-bid-batch entry
// leaves the same state (and gives every request the same answer) as
// applying each as its own submit-bids entry. Requests mix valid bids,
// replacements of the same (service, node, epoch), and refusals of every
// kind (unknown service or node, epoch out of the window, bad quantiles).
func TestBatchEqualsSequential(t *testing.T) {
	services, nodes := []string{"web", "web", "db", "nope"}, []string{"n1", "n1", "n2", "n9"}
	rapid.Check(t, func(rt *rapid.T) {
		var reqs []SubmitBids
		for i := rapid.IntRange(1, 12).Draw(rt, "requests"); i > 0; i-- {
			var r SubmitBids
			for j := rapid.IntRange(0, 3).Draw(rt, "bids"); j > 0; j-- {
				p50 := rapid.Int64Range(-5, 3000).Draw(rt, "p50")
				r.Bids = append(r.Bids, bidding.Bid{Service: rapid.SampledFrom(services).Draw(rt, "service"), Node: rapid.SampledFrom(nodes).Draw(rt, "node"),
					Epoch:     rapid.Uint64Range(1, 7).Draw(rt, "epoch"), // 7 is out of the window
					Resources: map[string]bidding.Quantiles{"cpu": {P50: p50, P90: p50 + rapid.Int64Range(-5, 1000).Draw(rt, "p90-p50"), P99: 4000}}})
			}
			reqs = append(reqs, r)
		}
		base := batchBase(rt)
		seq, bat := New(), New()
		for i, e := range base {
			for _, f := range []*FSM{seq, bat} {
				if err := f.ApplyCommand(uint64(i+1), e); err != nil {
					rt.Fatalf("base entry %d: %v", i, err)
				}
			}
		}
		idx := uint64(len(base))
		var seqErrs []error
		for _, r := range reqs {
			idx++
			seqErrs = append(seqErrs, seq.ApplyCommand(idx, mustEncode(rt, CmdSubmitBids, r)))
		}
		res, err := bat.ApplyResult(idx, mustEncode(rt, CmdSubmitBidBatch, SubmitBidBatch{Requests: reqs}))
		if err != nil {
			rt.Fatalf("batch refused as a whole: %v", err)
		}
		br, ok := res.(*BatchResult)
		if !ok || len(br.Errs) != len(reqs) {
			rt.Fatalf("batch result %#v, want %d answers", res, len(reqs))
		}
		for i := range reqs {
			if fmt.Sprint(br.Errs[i]) != fmt.Sprint(seqErrs[i]) {
				rt.Fatalf("request %d: batched answer %v, sequential %v", i, br.Errs[i], seqErrs[i])
			}
		}
		if seq.Hash() != bat.Hash() {
			rt.Fatalf("states differ:\nsequential %s\nbatched    %s", jsonOf2(seq.Bids()), jsonOf2(bat.Bids()))
		}
	})
}

func TestEmptyBatchIsRefused(t *testing.T) {
	f := New()
	if _, err := f.ApplyResult(1, mustEncode(t, CmdSubmitBidBatch, SubmitBidBatch{})); err == nil {
		t.Fatal("an empty batch was applied")
	}
}

// TestPlanWatchOnlyForPlans: a bid does not close PlanWatchCh, a plan does.
func TestPlanWatchOnlyForPlans(t *testing.T) {
	f := New()
	for i, e := range batchBase(t) {
		if err := f.ApplyCommand(uint64(i+1), e); err != nil {
			t.Fatal(err)
		}
	}
	idx := f.Index()
	ch := f.PlanWatchCh()
	if err := f.ApplyCommand(idx+1, mustEncode(t, CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("web", "n1", 3, 100)}})); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("a bid woke the plan watchers")
	default:
	}
	if err := f.ApplyCommand(idx+2, mustEncode(t, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 3}})); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("a plan did not wake the plan watchers")
	}
}

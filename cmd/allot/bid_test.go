package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
)

// A bid without an epoch is for the next one (issue 14: the README's bid
// hard-coded epoch 1, and leaving it out was an error about epoch 0).
func TestBidWithoutEpoch(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	addr := n.HTTP.Listener.Addr().String()
	dir := t.TempDir()
	svc := filepath.Join(dir, "web.hcl")
	bid := filepath.Join(dir, "bid.json")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(svc, []byte("service \"web\" {\n  class = \"critical\"\n}\n"), 0o644))
	must(os.WriteFile(bid, []byte(`{"service":"web","node":"n1","resources":{"cpu":{"p50":500,"p90":800,"p99":1000}}}`), 0o644))
	if code, _, errs := runCLI(addr, nil, "service", "register", svc); code != 0 {
		t.Fatalf("register: %s", errs)
	}
	waitfor.True(t, "client node n1", 10*time.Second, func() bool {
		for _, m := range n.Server.FSM().Members() {
			if m.Name == "n1" && m.Client {
				return true
			}
		}
		return false
	})
	code, out, errs := runCLI(addr, nil, "bid", bid)
	if code != 0 || !strings.Contains(out, "Accepted 1 bid(s)") {
		t.Fatalf("bid: exit %d %q %q", code, out, errs)
	}
	p, _ := n.Server.FSM().LatestPlan()
	bids := n.Server.FSM().Bids()
	if len(bids) != 1 || bids[0].Epoch != p.Epoch+1 {
		t.Fatalf("stored bids %+v, want one for epoch %d", bids, p.Epoch+1)
	}
	// Shell completion of a SERVICE argument asks the agent for the names.
	for _, args := range [][]string{{"__complete", "plan", "explain", ""}, {"__complete", "boost", "w"}, {"__complete", "forecast", ""}} {
		code, out, _ := runCLI(addr, nil, args...)
		if code != 0 || !strings.Contains("\n"+out, "\nweb\n") {
			t.Errorf("allot %v: exit %d %q, want web among the completions", args, code, out)
		}
	}
}

package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
)

// Finding 4 of issue 13: a follower whose state silently differs (one
// changed byte in its log) is found by the state check that follows the
// next plan: logged, counted, health degraded naming the server, and its
// reads refused unless ?stale.
func TestDivergedFollowerIsNamed(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour)
	l := c.Leader(10 * time.Second)
	ctx := context.Background()
	if _, err := l.Server.Apply(ctx, fsm.CmdRegisterService, fsm.RegisterService{Service: bidding.Service{Name: "web", Class: bidding.ClassCritical, Weight: 3}}); err != nil {
		t.Fatal(err)
	}
	f := c.Followers()[0]
	waitfor.True(t, "the follower has the service", 5*time.Second, func() bool { _, ok := f.Server.FSM().Service("web"); return ok })
	// The follower's copy of that entry had one byte changed: weight 3 → 9.
	ff := f.Server.FSM()
	bad, _ := fsm.Encode(fsm.CmdRegisterService, fsm.RegisterService{Service: bidding.Service{Name: "web", Class: bidding.ClassCritical, Weight: 9}})
	if err := ff.ApplyCommand(ff.Index(), bad); err != nil {
		t.Fatal(err)
	}
	if err := l.Server.CloseEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the follower to find its divergence", 5*time.Second, func() bool { n, _ := ff.Divergences(); return n == 1 })

	resp, m := do(t, "GET", f.HTTP.URL+"/v1/health", "")
	if resp.StatusCode != 503 || !strings.Contains(fmt.Sprint(m["degraded"]), "server "+f.Name) || !strings.Contains(fmt.Sprint(m["degraded"]), "move its data dir aside") {
		t.Fatalf("health of the diverged follower: %d %v", resp.StatusCode, m)
	}
	if resp, m := do(t, "GET", f.HTTP.URL+"/v1/services", ""); resp.StatusCode != 503 || !strings.Contains(fmt.Sprint(m["error"]), "diverged") {
		t.Fatalf("read on the diverged follower: %d %v", resp.StatusCode, m)
	}
	if resp, _ := do(t, "GET", f.HTTP.URL+"/v1/services?stale", ""); resp.StatusCode != 200 {
		t.Fatalf("?stale read on the diverged follower: %d", resp.StatusCode)
	}
	for _, n := range []*testcluster.Node{l, c.Followers()[1]} {
		if resp, m := do(t, "GET", n.HTTP.URL+"/v1/health", ""); resp.StatusCode != 200 {
			t.Fatalf("health of %s, which agrees with the leader: %d %v", n.Name, resp.StatusCode, m)
		}
	}
	resp, err := http.Get(f.HTTP.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "allot_state_divergences_total 1") {
		t.Fatalf("metrics of the diverged follower lack the divergence:\n%s", b)
	}
}

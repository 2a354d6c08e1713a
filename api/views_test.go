package api_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
)

// TestOperatorViews: GET /v1/plan/history/{service} lists the service's
// allocation in every kept plan, GET /v1/status/raft every peer with its
// state and lag, and /metrics the same allocation in cores, with the
// forecast and actual usage of the reported epoch.
func TestOperatorViews(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour) // epochs are closed by the test
	l := c.Leader(10 * time.Second)
	waitClientMembers(t, l, 3)
	ctx := context.Background()
	cl := l.Client()
	if err := cl.RegisterService(ctx, bidding.Service{Name: "web", Class: bidding.ClassStandard, Min: bidding.Vec{100}}); err != nil {
		t.Fatal(err)
	}
	for e := uint64(1); e <= 3; e++ {
		bid := bidding.Bid{Service: "web", Node: "n1", Epoch: e, Resources: map[string]bidding.Quantiles{"cpu": {P50: 500, P90: 700, P99: 900}}}
		if _, err := cl.PutBids(ctx, []bidding.Bid{bid}); err != nil {
			t.Fatal(err)
		}
		if err := l.Server.CloseEpoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.PutUsage(ctx, fsm.UsageReport{Node: "n1", Epoch: 3, Services: []fsm.ServiceUsage{{Service: "web", Actual: map[string]int64{"cpu": 600}}}}); err != nil {
		t.Fatal(err)
	}
	h, err := cl.AllocationHistory(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 3 || len(h.Points) != 3 || h.Points[2].Epoch != 3 || h.Points[2].Node != "n1" || h.Points[2].CPU < 100 {
		t.Fatalf("history: %+v", h)
	}
	if _, err := cl.AllocationHistory(ctx, "nope"); !api.IsNotFound(err) {
		t.Fatalf("history of an unknown service: %v, want 404", err)
	}

	var st api.RaftStatus
	// A follower of a loaded machine may still be catching up on the
	// writes above when the view is first asked for: wait for every lag to
	// come within what the peer applied.
	waitFor(t, "three reachable peers, one leader, every peer caught up to within its own applied index", func() bool {
		st, err = c.Followers()[0].Client().RaftStatus(ctx)
		if err != nil || len(st.Peers) != 3 {
			return false
		}
		leaders := 0
		for _, p := range st.Peers {
			if p.State == "unreachable" || p.AppliedIndex == 0 || p.Lag > p.AppliedIndex {
				return false
			}
			if p.State == "leader" {
				leaders++
			}
		}
		return leaders == 1
	})

	scrape := func(n *testcluster.Node) string {
		t.Helper()
		resp, err := http.Get(n.HTTP.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// Followers serve the plan's figures but not the per-placement series.
	waitFor(t, "a follower to apply plan 3", func() bool {
		p, ok := c.Followers()[0].Server.FSM().LatestPlan()
		return ok && p.Epoch == 3
	})
	if f := scrape(c.Followers()[0]); !strings.Contains(f, "allot_plan_allocations 1") || strings.Contains(f, "allot_allocation_cpu_cores{") {
		t.Errorf("a follower's /metrics: %s", f)
	}
	body := scrape(l)
	cores := float64(h.Points[2].CPU) / 1000
	for _, want := range []string{
		`allot_allocation_cpu_cores{node="n1",service="web"} ` + strconv.FormatFloat(cores, 'g', -1, 64),
		`allot_usage_cpu_cores{node="n1",service="web"} 0.6`,
		`allot_forecast_cpu_cores{node="n1",percentile="p90",service="web"} 0.7`,
		"allot_plan_epoch 3", "allot_raft_is_leader 1", "# TYPE allot_plan_solve_duration_seconds histogram",
		"allot_plan_solve_duration_seconds_count 3", `allot_http_requests_total{code="200",method="GET",route="/v1/plan/history/{service}"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

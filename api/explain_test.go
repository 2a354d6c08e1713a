package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/internal/testcluster"
)

// clientOnly is a client-only agent that sees only the followers.
type clientOnly struct {
	c      *testcluster.Cluster
	leader string
}

func (a clientOnly) Self() api.Self {
	return api.Self{ID: "c1", Name: "c1", Client: true, Role: "client"}
}
func (a clientOnly) Members() []gossip.Member {
	var out []gossip.Member
	for _, m := range a.c.Members() {
		if m.ID != a.leader {
			out = append(out, m)
		}
	}
	return out
}
func (a clientOnly) Join([]string) (int, error)  { return 0, nil }
func (a clientOnly) Leave(context.Context) error { return nil }

type explainView struct {
	Service    string                `json:"service"`
	Epoch      uint64                `json:"epoch"`
	Placements []bidding.Explanation `json:"placements"`
}

// explainOn asks one node for the explanation of web until it answers
// code (the new leader may still be applying the log).
func explainOn(t *testing.T, n *testcluster.Node, code int) (explainView, string) {
	t.Helper()
	var v explainView
	var last error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		v = explainView{}
		_, err := n.Client().Do(context.Background(), "GET", "/v1/plan/explain/web", nil, &v)
		if ae, ok := err.(*api.Error); (code == 200 && err == nil) || ok && ae.Code == code {
			if err != nil {
				return v, ae.Msg
			}
			return v, ""
		}
		last = err
	}
	t.Fatalf("explain on %s: never %d (last: %v)", n.Name, code, last)
	return v, ""
}

func waitClientMembers(t *testing.T, n *testcluster.Node, count int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if len(n.Server.FSM().Members()) >= count {
			return
		}
	}
	t.Fatal("member records not reconciled")
}

// TestExplainLivesOnTheLeader: the log and every replica's plans carry no
// explanation; the leader serves them from memory (a follower forwards;
// the boost shows, capped by boost_cap_frac),
// a new leader answers 503 naming the epoch until its
// first plan, and a plan solved without explanations is explained on
// demand from the kept problem.
func TestExplainLivesOnTheLeader(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour) // epochs are closed by the test
	l := c.Leader(10 * time.Second)
	waitClientMembers(t, l, 3)
	ctx := context.Background()
	cl := l.Client()
	if err := cl.RegisterService(ctx, bidding.Service{Name: "web", Class: bidding.ClassStandard, Min: bidding.Vec{100}}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Boost(ctx, "web", api.BoostRequest{Factor: 3, TTL: "3h", Reason: "sla: probe"}); err != nil {
		t.Fatal(err)
	}
	closeEpoch := func(l *testcluster.Node, epoch uint64) {
		t.Helper()
		bid := bidding.Bid{Service: "web", Node: "n1", Epoch: epoch, Resources: map[string]bidding.Quantiles{"cpu": {P50: 500, P90: 700, P99: 900}}}
		if _, err := l.Client().PutBids(ctx, []bidding.Bid{bid}); err != nil {
			t.Fatal(err)
		}
		if err := l.Server.CloseEpoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	closeEpoch(l, 1)
	for _, n := range c.Nodes {
		v, _ := explainOn(t, n, 200) // followers forward to the leader
		if v.Epoch != 1 || len(v.Placements) != 1 || v.Placements[0].Boost <= 1 || v.Placements[0].Resources["cpu"].Granted == 0 {
			t.Fatalf("explain on %s: %+v", n.Name, v)
		}
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if _, ok := n.Server.FSM().LatestPlan(); ok {
				break
			}
		}
		if p, ok := n.Server.FSM().LatestPlan(); !ok || p.Explain != nil {
			t.Fatalf("%s keeps a plan with %d explanations (ok %v)", n.Name, len(p.Explain), ok)
		}
	}

	// From a client-only agent whose servers are followers: two hops.
	ca := httptest.NewServer(api.NewServer(api.Options{Agent: clientOnly{c: c, leader: l.ID}}))
	defer ca.Close()
	var v explainView
	if _, err := api.NewClient(strings.TrimPrefix(ca.URL, "http://"), "").Do(ctx, "GET", "/v1/plan/explain/web", nil, &v); err != nil || v.Epoch != 1 || len(v.Placements) != 1 {
		t.Fatalf("explain through a client-only agent and a follower: %+v %v", v, err)
	}

	c.Kill(l)
	l2 := c.Leader(10 * time.Second)
	for _, n := range c.Nodes {
		if n == l {
			continue
		}
		_, msg := explainOn(t, n, 503)
		if !strings.Contains(msg, "no explanation for epoch 1 on this leader yet") || !strings.Contains(msg, "next plan") {
			t.Fatalf("explain on %s after the leader change: %q", n.Name, msg)
		}
	}
	closeEpoch(l2, 2)
	if v, _ := explainOn(t, l2, 200); v.Epoch != 2 || len(v.Placements) != 1 || v.Placements[0].Boost <= 1 {
		t.Fatalf("explain after the new leader's first plan: %+v", v)
	}

	// Solved without explanations: the leader recomputes one service's.
	st, _ := l2.Server.FSM().Settings()
	st.Options.SkipExplain = true
	if _, err := l2.Server.Apply(ctx, fsm.CmdSetSettings, fsm.SetSettings{Settings: st}); err != nil {
		t.Fatal(err)
	}
	closeEpoch(l2, 3)
	for _, n := range c.Nodes {
		if n == l {
			continue
		}
		v, _ := explainOn(t, n, 200)
		if v.Epoch != 3 || len(v.Placements) != 1 || v.Placements[0].Boost <= 1 {
			t.Fatalf("explain on demand on %s: %s", n.Name, fmt.Sprintf("%+v", v))
		}
	}
}

package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/internal/testcluster"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func register(t *testing.T, c *api.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		s := bidding.Service{Name: n, Class: bidding.ClassStandard, Min: bidding.Vec{100, 64 << 20}, Max: bidding.Vec{2000, 2 << 30}}
		if _, err := c.Do(ctx(t), "PUT", "/v1/service/"+n, s, nil); err != nil {
			t.Fatalf("register %s: %v", n, err)
		}
	}
}

func waitMembers(t *testing.T, n *testcluster.Node, count int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if len(n.Server.FSM().Members()) >= count {
			return
		}
	}
	t.Fatalf("member records not reconciled")
}

func latest(t *testing.T, c *api.Client) bidding.Plan {
	t.Helper()
	var p bidding.Plan
	if _, err := c.Do(ctx(t), "GET", "/v1/plan", nil, &p); err != nil {
		var ae *api.Error
		if errors.As(err, &ae) && ae.Code == http.StatusNotFound {
			return p // none committed yet
		}
		t.Fatalf("plan: %v", err)
	}
	return p
}

func TestThreeServersAgreeAndSurviveLeaderLoss(t *testing.T) {
	c := testcluster.Start(t, 3, 300*time.Millisecond)
	leader := c.Leader(10 * time.Second)
	waitMembers(t, leader, 3)
	f := c.Followers()[0]
	register(t, f.Client(), "web", "db", "batch") // through a follower: forwarded
	var bids []bidding.Bid
	for i, s := range []string{"web", "db", "batch"} {
		bids = append(bids, bidding.Bid{Service: s, Node: c.Nodes[i].Name, Epoch: leader.Server.FSM().SolveInputs().Epoch,
			Resources: map[string]bidding.Quantiles{"cpu": {P50: 500, P90: 800, P99: 1000}}})
	}
	if _, err := f.Client().Do(ctx(t), "PUT", "/v1/bids", bids, nil); err != nil {
		t.Fatalf("bids via follower: %v", err)
	}
	// A plan with all three, and the same hash everywhere.
	var p bidding.Plan
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		p = latest(t, leader.Client())
		if len(p.Allocations) == 3 {
			break
		}
	}
	if len(p.Allocations) != 3 {
		t.Fatalf("no plan with three allocations: %+v", p)
	}
	for _, n := range c.Nodes {
		var q bidding.Plan
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if got, ok := n.Server.FSM().Plan(p.Epoch); ok {
				q = got
				break
			}
		}
		if q.Hash != p.Hash {
			t.Fatalf("%s has hash %q for epoch %d, leader %q", n.Name, q.Hash, p.Epoch, p.Hash)
		}
	}
	// Kill the leader: a new one, later epochs, nothing lost.
	c.Kill(leader)
	t0 := time.Now()
	nl := c.Leader(10 * time.Second)
	t.Logf("new leader %s after %s", nl.Name, time.Since(t0))
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if latest(t, nl.Client()).Epoch > p.Epoch+1 {
			break
		}
	}
	if e := latest(t, nl.Client()).Epoch; e <= p.Epoch+1 {
		t.Fatalf("epochs stopped at %d after failover", e)
	}
	for _, n := range c.Followers() {
		if got, ok := n.Server.FSM().Plan(p.Epoch); !ok || got.Hash != p.Hash {
			t.Fatalf("plan of epoch %d changed or vanished on %s", p.Epoch, n.Name)
		}
		if len(n.Server.FSM().Bids()) < 3 {
			t.Fatalf("bids lost on %s: %+v", n.Name, n.Server.FSM().Bids())
		}
		// Plans after the first went into the log as deltas (the new
		// leader's against the old one's last plan): every replica
		// rebuilt the same state, plan after plan.
		if d := n.Server.Divergence(); d != "" {
			t.Fatalf("%s diverged: %s", n.Name, d)
		}
	}
}

func TestBadInputNeverReachesTheLog(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour) // no plan entries to muddle the index
	leader := c.Leader(10 * time.Second)
	waitMembers(t, leader, 3)
	f := c.Followers()[0]
	register(t, f.Client(), "web")
	time.Sleep(200 * time.Millisecond)
	before := leader.Server.FSM().Index()
	bad := []string{
		`{"service":"web","node":"n1","epoch":1,"resources":{"cpu":{"p50":5,"p90":4,"p99":6}}}`,
		`{"service":"nope","node":"n1","epoch":1,"resources":{"cpu":{"p50":1,"p90":2,"p99":3}}}`,
		`{"service":"web","node":"n9","epoch":1,"resources":{"cpu":{"p50":1,"p90":2,"p99":3}}}`,
		`{"service":"web","node":"n1","epoch":9999,"resources":{"cpu":{"p50":1,"p90":2,"p99":3}}}`,
		`{"service":"web","node":"n1","epoch":1,"resources":{"gpu":{"p50":1,"p90":2,"p99":3}}}`,
		`{"service":"web","node":"n1","epoch":1,"resources":{"cpu":{"p50":-1,"p90":2,"p99":3}}}`,
		`{"service":"web","node":"n1","epoch":1,"resources":{"cpu":{"p50":1.5,"p90":2,"p99":3}}}`,
		`{"service":"web","node":"n1","epoch":1,"resources":{"cpu":{"p50":NaN}}}`,
		`{"service":"web","node":"n1","epoch":1,"resources":{}}`,
		`{"service":"web","bogus":1}`,
		`[]`,
		`not json`,
	}
	for _, b := range bad {
		for _, n := range []*testcluster.Node{leader, f} {
			_, err := n.Client().Do(ctx(t), "PUT", "/v1/bids", []byte(b), nil)
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Code != http.StatusBadRequest {
				t.Fatalf("%s via %s: %v, want a 400", b, n.Name, err)
			}
		}
	}
	if after := leader.Server.FSM().Index(); after != before {
		t.Fatalf("invalid bids moved the log from %d to %d", before, after)
	}
}

func TestPartitionedLeaderRefusesWrites(t *testing.T) {
	c := testcluster.Start(t, 3, 300*time.Millisecond)
	old := c.Leader(10 * time.Second)
	waitMembers(t, old, 3)
	c.Partition(old, true)
	var nl *testcluster.Node
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && nl == nil; time.Sleep(20 * time.Millisecond) {
		for _, n := range c.Nodes {
			if n != old && n.Server.IsLeader() {
				nl = n
			}
		}
	}
	if nl == nil {
		t.Fatal("majority elected no leader")
	}
	s := bidding.Service{Name: "late", Class: bidding.ClassBatch}
	_, err := old.Client().Do(ctx(t), "PUT", "/v1/service/late", s, nil)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != http.StatusServiceUnavailable {
		t.Fatalf("write on a partitioned old leader: %v, want 503", err)
	}
	if _, err := nl.Client().Do(ctx(t), "PUT", "/v1/service/late", s, nil); err != nil {
		t.Fatalf("write on the majority: %v", err)
	}
	c.Partition(old, false)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, ok := old.Server.FSM().Service("late"); ok && !old.Server.IsLeader() {
			return
		}
	}
	t.Fatal("healed old leader did not catch up as a follower")
}

func TestBlockingPlanQuery(t *testing.T) {
	c := testcluster.Start(t, 1, 200*time.Millisecond)
	n := c.Leader(10 * time.Second)
	p := latestEventually(t, n)
	t0 := time.Now()
	var q bidding.Plan
	meta, err := n.Client().Do(ctx(t), "GET", "/v1/plan?index="+itoa(p.Index)+"&wait=5s", nil, &q)
	if err != nil {
		t.Fatal(err)
	}
	if q.Index <= p.Index || meta.Index < q.Index {
		t.Fatalf("blocking query returned index %d (header %d) after %d", q.Index, meta.Index, p.Index)
	}
	if time.Since(t0) > 4*time.Second {
		t.Fatalf("blocking query did not wake on the next plan")
	}
}

func latestEventually(t *testing.T, n *testcluster.Node) bidding.Plan {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if p, ok := n.Server.FSM().LatestPlan(); ok {
			return p
		}
	}
	t.Fatal("no plan")
	return bidding.Plan{}
}

func itoa(v uint64) string {
	b := []byte{}
	if v == 0 {
		return "0"
	}
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}

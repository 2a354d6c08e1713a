package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
)

// commit puts a hand-made plan in the log and returns its Raft index.
func commit(t *testing.T, n *testcluster.Node, epoch uint64, allocs ...bidding.Allocation) uint64 {
	t.Helper()
	p := bidding.Plan{Epoch: epoch, Hash: fmt.Sprintf("sha256:plan-%d", epoch), Created: time.Now().UTC().Truncate(time.Millisecond), Allocations: allocs,
		Nodes: []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000}, ShadowPrice: map[string]float64{"cpu": float64(epoch)}},
			{Node: "n2", Capacity: bidding.Vec{4000}}}}
	idx, err := n.Server.Apply(context.Background(), fsm.CmdCommitPlan, fsm.CommitPlan{Plan: p})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func al(svc, node string, cpu int64) bidding.Allocation {
	return bidding.Allocation{Service: svc, Node: node, CPU: cpu}
}

// getSlice GETs a /v1/plan query and decodes the raw answer.
func getSlice(t *testing.T, base, query string) (int, map[string]any, bidding.Plan) {
	t.Helper()
	resp, err := http.Get(base + "/v1/plan?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	var p bidding.Plan
	_ = json.Unmarshal(b, &m)
	_ = json.Unmarshal(b, &p)
	return resp.StatusCode, m, p
}

// TestNodePlanSlices: GET /v1/plan?node=ID answers the node's slice
// (sorted, its nodes entry, a node_hash that depends only on its
// allocations); with index it answers a stub when the slice is the
// caller's, and without epochs=true it wakes only when the slice changed.
func TestNodePlanSlices(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour) // plans are committed by the test
	n := c.Leader(10 * time.Second)
	base := n.HTTP.URL
	if code, m, _ := getSlice(t, base, "node=n1"); code != 404 || !strings.Contains(fmt.Sprint(m["error"]), "no plan") {
		t.Fatalf("before any plan: %d %v", code, m)
	}
	i1 := commit(t, n, 1, al("web", "n1", 500), al("api", "n2", 300), al("db", "n1", 700), al("api", "n1", 200)) // not sorted on purpose
	i2 := commit(t, n, 2, al("api", "n1", 200), al("db", "n1", 700), al("web", "n1", 500), al("api", "n2", 900)) // n1 unchanged
	i3 := commit(t, n, 3, al("api", "n1", 200), al("db", "n1", 800), al("web", "n1", 500))                       // n1 changed

	_, _, s1 := getSlice(t, base, "node=n1&epoch=1")
	_, _, s2 := getSlice(t, base, "node=n1&epoch=2")
	_, _, s3 := getSlice(t, base, "node=n1")
	_, _, o1 := getSlice(t, base, "node=n2&epoch=1")
	_, _, o2 := getSlice(t, base, "node=n2&epoch=2")
	cases := []struct {
		name string
		ok   bool
	}{
		{"sorted by service", fmt.Sprint(s1.Allocations) == fmt.Sprint([]bidding.Allocation{al("api", "n1", 200), al("db", "n1", 700), al("web", "n1", 500)})},
		{"only the node's entry in nodes", len(s1.Nodes) == 1 && s1.Nodes[0].Node == "n1" && len(s2.Nodes) == 1 && s2.Nodes[0].ShadowPrice["cpu"] == 2},
		{"an old plan (older than the latest two) has no shadow prices", s1.Nodes[0].Capacity[0] == 4000 && s1.Nodes[0].ShadowPrice == nil},
		{"plan fields", s1.Epoch == 1 && s1.Index == i1 && s1.Hash == "sha256:plan-1" && s1.Node == "n1" && !s1.Created.IsZero()},
		{"latest by default", s3.Epoch == 3 && s3.Index == i3},
		{"hash stable across identical slices", s1.NodeHash != "" && s1.NodeHash == s2.NodeHash},
		{"hash differs when the slice changes", s3.NodeHash != s2.NodeHash},
		{"hash differs per node", o1.NodeHash != s1.NodeHash && o1.NodeHash != o2.NodeHash},
		{"hash is the allocations'", s1.NodeHash == bidding.NodeHash("n1", s1.Allocations)},
	}
	for _, tc := range cases {
		if !tc.ok {
			t.Errorf("%s: s1 %+v\ns2 %+v\ns3 %+v\no1 %+v", tc.name, s1, s2, s3, o1)
		}
	}

	q := func(idx uint64, extra string) string { return fmt.Sprintf("node=n1&index=%d&%s", idx, extra) }
	queries := []struct {
		name, query string
		code        int
		index       uint64 // of the answer
		unchanged   bool
		allocs      int
		errPart     string
	}{
		{"unknown node", "node=ghost", 404, 0, false, 0, `node "ghost" is unknown`},
		{"bad node name", "node=no%20way", 400, 0, false, 0, "node"},
		{"bad epochs", q(i1, "epochs=maybe"), 400, 0, false, 0, "epochs"},
		{"bad wait", q(i1, "wait=soon"), 400, 0, false, 0, "wait"},
		{"epoch not kept", "node=n1&epoch=9", 404, 0, false, 0, "epoch"},
		{"no index held: the latest, whole", q(0, "wait=5s"), 200, i3, false, 3, ""},
		{"epochs: the latest plan, whole when changed", q(i1, "epochs=true&wait=5s"), 200, i3, false, 3, ""},
		{"changed since: the whole slice at once", q(i2, "wait=5s"), 200, i3, false, 3, ""},
		{"current: a stub when the wait ends", q(i3, "wait=50ms"), 200, i3, true, 0, ""},
		{"a plan no longer kept: the whole slice", q(i3+1000, "wait=50ms"), 200, i3, false, 3, ""},
	}
	for _, tc := range queries {
		t.Run(tc.name, func(t *testing.T) {
			code, m, p := getSlice(t, base, tc.query)
			if code != tc.code || tc.errPart != "" && !strings.Contains(fmt.Sprint(m["error"]), tc.errPart) {
				t.Fatalf("%d %v, want %d naming %q", code, m, tc.code, tc.errPart)
			}
			if code != 200 {
				return
			}
			if p.Index != tc.index || p.Unchanged != tc.unchanged || len(p.Allocations) != tc.allocs || p.NodeHash == "" {
				t.Fatalf("answer %+v: want index %d, unchanged %v, %d allocations", p, tc.index, tc.unchanged, tc.allocs)
			}
			if _, has := m["allocations"]; tc.unchanged && has {
				t.Fatalf("a stub carries allocations: %v", m)
			}
		})
	}

	// Wake only on change: a watcher holding plan 3's slice is not woken
	// by plan 4 (its slice unchanged) but by plan 5. With epochs=true the
	// same watcher hears of plan 4, as a stub.
	type answer struct {
		p   bidding.Plan
		err error
	}
	watch := func(extra string) chan answer {
		ch := make(chan answer, 1)
		go func() {
			var p bidding.Plan
			_, err := n.Client().Do(context.Background(), "GET", "/v1/plan?"+q(i3, "wait=20s"+extra), nil, &p)
			ch <- answer{p, err}
		}()
		return ch
	}
	strict, every := watch(""), watch("&epochs=true")
	time.Sleep(100 * time.Millisecond) // let both queries start blocking (the assertions hold either way)
	i4 := commit(t, n, 4, al("api", "n1", 200), al("db", "n1", 800), al("web", "n1", 500), al("api", "n2", 1))
	e := <-every
	if e.err != nil || e.p.Index != i4 || !e.p.Unchanged || e.p.Allocations != nil {
		t.Fatalf("epochs=true after an unchanged plan: %+v %v", e.p, e.err)
	}
	i5 := commit(t, n, 5, al("api", "n1", 250), al("db", "n1", 800), al("web", "n1", 500))
	s := <-strict
	if s.err != nil || s.p.Index != i5 || s.p.Unchanged || len(s.p.Allocations) != 3 || s.p.Allocations[0].CPU != 250 {
		t.Fatalf("strict watch woke with %+v %v, want plan 5's slice (index %d; plan 4 at %d left n1 unchanged)", s.p, s.err, i5, i4)
	}

	// The typed client: a stub decodes with Unchanged and the new index.
	cl := n.Client()
	p, err := cl.WatchNodePlan(context.Background(), "n1", i5, 50*time.Millisecond)
	if err != nil || !p.Unchanged || p.Index != i5 || p.NodeHash != s.p.NodeHash {
		t.Fatalf("WatchNodePlan: %+v %v", p, err)
	}
	if _, err := cl.WatchNodePlan(context.Background(), "ghost", 0, time.Second); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("unknown node: %v", err)
	}
}

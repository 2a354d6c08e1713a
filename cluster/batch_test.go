package cluster_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
)

// TestGroupCommit: concurrent bid requests on the leader share entries,
// every request gets its own answer and the index of the entry that holds
// its bids, a refused request never reaches the log, and every replica
// ends with the same state.
func TestGroupCommit(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour)
	leader := c.Leader(10 * time.Second)
	waitMembers(t, leader, 3)
	register(t, leader.Client(), "web", "db")
	epoch := leader.Server.FSM().SolveInputs().Epoch

	const writers, rounds = 16, 20
	type answer struct {
		index uint64
		err   error
		bad   bool
	}
	answers := make([][]answer, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				b := bidding.Bid{Service: []string{"web", "db"}[w%2], Node: c.Nodes[w%3].Name, Epoch: epoch,
					Resources: map[string]bidding.Quantiles{"cpu": {P50: int64(100 + i), P90: 200 + int64(i), P99: 300}}}
				bad := (w+i)%7 == 0
				if bad {
					b.Service = fmt.Sprintf("unknown-%d", w)
				}
				idx, err := leader.Server.SubmitBids(ctx(t), []bidding.Bid{b})
				answers[w] = append(answers[w], answer{idx, err, bad})
			}
		}()
	}
	wg.Wait()

	for w, as := range answers {
		for i, a := range as {
			var rej *cluster.RejectedError
			switch {
			case a.bad && !errors.As(a.err, &rej):
				t.Fatalf("writer %d round %d: a bid for an unknown service got %v, want a refusal", w, i, a.err)
			case !a.bad && (a.err != nil || a.index == 0):
				t.Fatalf("writer %d round %d: %d, %v", w, i, a.index, a.err)
			case !a.bad && leader.Server.FSM().Index() < a.index:
				t.Fatalf("answered with index %d beyond the applied %d", a.index, leader.Server.FSM().Index())
			}
		}
	}
	st := leader.Server.BatchStats()
	good := 0
	for _, as := range answers {
		for _, a := range as {
			if !a.bad {
				good++
			}
		}
	}
	if int(st.Requests) != good {
		t.Fatalf("batches carried %d requests, %d were accepted (a refused one reached the log?)", st.Requests, good)
	}
	if st.Entries >= st.Requests {
		t.Errorf("%d requests in %d entries: nothing was batched", st.Requests, st.Entries)
	}
	t.Logf("%d requests in %d entries", st.Requests, st.Entries)
	for _, n := range c.Nodes {
		waitfor.True(t, n.Name+" to apply the leader's index", 10*time.Second, func() bool { return n.Server.FSM().Index() >= leader.Server.FSM().Index() })
	}
	want := leader.Server.FSM().Hash()
	for _, n := range c.Followers() {
		if got := n.Server.FSM().Hash(); got != want {
			t.Fatalf("%s's state differs from the leader's", n.Name)
		}
	}
}

// TestSubmitBidsOnAFollower refuses with ErrNotLeader (the API forwards).
func TestSubmitBidsOnAFollower(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour)
	c.Leader(10 * time.Second)
	f := c.Followers()[0]
	if _, err := f.Server.SubmitBids(ctx(t), []bidding.Bid{{Service: "web"}}); !errors.Is(err, cluster.ErrNotLeader) {
		t.Fatalf("got %v, want ErrNotLeader", err)
	}
}

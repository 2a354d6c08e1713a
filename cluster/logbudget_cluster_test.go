package cluster_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
)

// The log's byte budget on a real server on disk: large entries (a
// group-committed batch of bids each) that stay far below raft's entry
// threshold still get a snapshot once they pass MinLogBudget, and the
// entries kept behind it are cut to what fits the budget.
func TestLogBudgetSnapshotsLargeEntries(t *testing.T) {
	c := testcluster.StartOnDisk(t, 1, time.Hour)
	leader := c.Leader(10 * time.Second)
	waitMembers(t, leader, 1)
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("svc-%03d", i))
	}
	register(t, leader.Client(), names...)
	epoch := leader.Server.FSM().SolveInputs().Epoch
	bids := make([]bidding.Bid, len(names))
	for i, n := range names {
		bids[i] = bidding.Bid{Service: n, Node: leader.Name, Epoch: epoch,
			Resources: map[string]bidding.Quantiles{"cpu": {P50: 500, P90: 800, P99: 900}, "memory": {P50: 1 << 28, P90: 1 << 29, P99: 1 << 30}}}
	}
	r := leader.Server.Raft()
	snapIdx := func() uint64 { i, _ := strconv.ParseUint(r.Stats()["last_snapshot_index"], 10, 64); return i }
	if snapIdx() != 0 {
		t.Fatalf("a snapshot before any load: %d", snapIdx())
	}
	var written int
	for written < cluster.MinLogBudget*5/4 {
		if _, err := leader.Server.Apply(context.Background(), fsm.CmdSubmitBids, fsm.SubmitBids{Bids: bids}); err != nil {
			t.Fatal(err)
		}
		written += len(bids) * 60 // a lower bound of a bid's encoded size
	}
	if last := r.LastIndex(); last >= cluster.DefaultSnapshotThreshold {
		t.Fatalf("the test wrote %d entries: raft's own threshold would snapshot", last)
	}
	waitfor.True(t, "a snapshot of the large log", 15*time.Second, func() bool { return snapIdx() > 0 })
	st := leader.Server.Stats()
	if got, _ := strconv.ParseUint(st["trailing_logs"], 10, 64); got >= cluster.DefaultTrailingLogs || got < cluster.MinTrailingLogs {
		t.Errorf("trailing_logs = %q, want below the configured %d and at least %d", st["trailing_logs"], cluster.DefaultTrailingLogs, cluster.MinTrailingLogs)
	}
	if n, err := strconv.ParseInt(st["log_bytes"], 10, 64); err != nil || n <= 0 {
		t.Errorf("log_bytes = %q, want the log's bytes", st["log_bytes"])
	}
}

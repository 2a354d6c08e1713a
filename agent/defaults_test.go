package agent

import (
	"testing"

	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/config"
)

// The settings table documents the Raft compaction defaults; the cluster
// package applies its own when a field is zero. They must be the same.
func TestRaftCompactionDefaultsAgree(t *testing.T) {
	d := config.Defaults()
	if d.RaftSnapshotThreshold != cluster.DefaultSnapshotThreshold ||
		d.RaftSnapshotInterval != cluster.DefaultSnapshotInterval ||
		d.RaftTrailingLogs != cluster.DefaultTrailingLogs {
		t.Fatalf("config defaults (threshold %d, interval %s, trailing %d) differ from cluster's (%d, %s, %d)",
			d.RaftSnapshotThreshold, d.RaftSnapshotInterval, d.RaftTrailingLogs,
			cluster.DefaultSnapshotThreshold, cluster.DefaultSnapshotInterval, cluster.DefaultTrailingLogs)
	}
}

package cluster_test

import (
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/hashicorp/raft"
)

// A leader whose own raft entry names an address it is not reached at — a
// server recreated with a new IP on its old data that won the election
// back — hands the leadership over, and the next leader puts the address
// it is reached at back in the entry (seen in e2e TestDockerNewIP: the
// stale entry was never replaced while that server led).
func TestLeaderWithStaleOwnEntryHandsOver(t *testing.T) {
	c := testcluster.Start(t, 3, 300*time.Millisecond)
	old := c.Leader(10 * time.Second)
	waitMembers(t, old, 3)
	real := old.Server.RaftAddr()
	if err := old.Server.Raft().AddVoter(raft.ServerID(old.ID), "stale-address", 0, 5*time.Second).Error(); err != nil {
		t.Fatalf("giving the leader's own entry an old address: %v", err)
	}
	waitfor.True(t, "another leader, and the entry back at the address the server is reached at", 30*time.Second, func() bool {
		l := c.Leader(5 * time.Second)
		if l == nil || l == old {
			return false
		}
		cf := l.Server.Raft().GetConfiguration()
		if cf.Error() != nil {
			return false
		}
		for _, sv := range cf.Configuration().Servers {
			if string(sv.ID) == old.ID {
				return string(sv.Address) == real && sv.Suffrage == raft.Voter
			}
		}
		return false
	})
}

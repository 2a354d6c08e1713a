package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/allot-dev/allot/fsm"
)

// Recovery is what to do with a server whose state diverged or whose data
// files are corrupt: its Raft data must go, and it resyncs from the leader.
const Recovery = "stop this server, move its data dir aside (mv DIR DIR.corrupt) and start it again: it rejoins and restores from the leader's snapshot; if a quorum of servers is lost, recover with DATA_DIR/raft/peers.json (README: recovering a cluster that lost its quorum)"

// watchDivergence logs every state check that disagrees with this server.
func (s *Server) watchDivergence() {
	s.fsm.OnDivergence(func(d fsm.Divergence) {
		s.log.Error("replicated state diverged from the leader's: this server must be restored",
			"server", s.cfg.Name, "id", s.cfg.ID, "index", d.Index, "local_hash", d.Local,
			"leader", d.Leader, "leader_hash", d.LeaderHash, "recovery", Recovery)
	})
}

// Divergence names this server's latest state divergence, "" if none: the
// API's readiness reports it (degraded).
func (s *Server) Divergence() string {
	_, d := s.fsm.Divergences()
	if d == nil {
		return ""
	}
	return fmt.Sprintf("server %s (%s): %s; %s", s.cfg.Name, s.cfg.ID, d, Recovery)
}

// checkState commits the leader's hash of the state after the plan at index,
// which every server compares with its own (fsm.StateCheck): after every
// plan, so a diverged replica is found within one epoch at any epoch length.
func (s *Server) checkState(ctx context.Context, index uint64) {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	h, ok := s.fsm.WaitPlanHash(wctx, index)
	cancel()
	if !ok {
		return // not hashed here (an earlier hash was still running), or stopping
	}
	if _, err := s.Apply(ctx, fsm.CmdStateCheck, fsm.StateCheck{Index: index, Hash: h, Leader: s.cfg.Name}); err != nil && ctx.Err() == nil {
		s.log.Warn("committing the state check failed; the next plan's check covers it", "index", index, "error", err)
	}
}

package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Explanations live on the leader only, in memory, for its latest plan:
// they are most of a plan's size (4.3 MB of a 10k-placement plan's log
// entry) and can be recomputed, so they never enter the log, the kept
// plans or the snapshots (fsm refuses to store them). The leader keeps
// what its last solve produced; when the solver skipped them
// (server.solver.explain = false) it keeps that solve's Problem instead and
// bidding.Explain recomputes one service's on demand. A new leader has
// none until its first plan: Explanation answers ErrNoExplanation (the API
// says so with a 503) rather than re-solving from the replicated state,
// which has moved on since the plan's input index (the plan's own commit
// prunes bids and expires boosts), so it could not give the same answer.

// ErrNoExplanation: this server has no explanation for the latest plan.
var ErrNoExplanation = errors.New("no explanation")

// explained is what the leader keeps of its latest solve.
type explained struct {
	epoch   uint64
	hash    string
	explain []bidding.Explanation // nil when the solve skipped them
	problem *bidding.Problem      // kept only when explain is nil
	plan    bidding.Plan          // as committed (without explanations)
}

// keepExplained remembers the latest solve's explanations (or its problem)
// before the plan is committed; it is matched to the committed plan by
// epoch and hash, so a plan that fails to commit is never explained.
func (s *Server) keepExplained(prob bidding.Problem, plan bidding.Plan, ex []bidding.Explanation) {
	e := &explained{epoch: plan.Epoch, hash: plan.Hash, explain: ex, plan: plan}
	if ex == nil {
		e.problem = &prob
	}
	s.mu.Lock()
	s.explained = e
	s.mu.Unlock()
}

// Explanation returns the latest committed plan and the explanations of
// one service's placements in it. It works on the server that solved that
// plan (the leader, or a former one that has seen no plan since);
// elsewhere it is ErrNoExplanation, naming the epoch and when the next
// plan is due. A service the plan does not place has no explanations.
func (s *Server) Explanation(service string) (bidding.Plan, []bidding.Explanation, error) {
	latest, ok := s.fsm.LatestPlan()
	if !ok {
		return bidding.Plan{}, nil, fmt.Errorf("%w: no plan committed yet", ErrNoExplanation)
	}
	s.mu.Lock()
	e := s.explained
	s.mu.Unlock()
	if e == nil || e.epoch != latest.Epoch || e.hash != latest.Hash {
		st, _ := s.fsm.Settings()
		return latest, nil, fmt.Errorf("%w for epoch %d on this leader yet (explanations are kept only in the memory of the leader that made the plan); the next plan (in ≤ %s) will have one",
			ErrNoExplanation, latest.Epoch, time.Duration(st.EpochMS)*time.Millisecond)
	}
	if e.explain == nil {
		if !hasService(e.problem.Services, service) {
			return latest, nil, nil // not in the problem: nothing placed, nothing to explain
		}
		out, err := bidding.Explain(*e.problem, &e.plan, service)
		if err != nil {
			return latest, nil, fmt.Errorf("explaining %s in epoch %d: %w", service, latest.Epoch, err)
		}
		return latest, out, nil
	}
	var out []bidding.Explanation
	for _, x := range e.explain {
		if x.Service == service {
			out = append(out, x)
		}
	}
	return latest, out, nil
}

func hasService(svcs []bidding.Service, name string) bool {
	for _, sv := range svcs {
		if sv.Name == name {
			return true
		}
	}
	return false
}

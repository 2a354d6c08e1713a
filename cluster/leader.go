package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// monitorLeadership starts the leader's loops when this server becomes
// leader and stops them when it steps down (rule 4: NotifyCh, not LeaderCh).
func (s *Server) monitorLeadership(ctx context.Context) {
	var stop context.CancelFunc
	var wg sync.WaitGroup
	end := func() {
		if stop != nil {
			stop()
			wg.Wait()
			stop = nil
		}
	}
	defer end()
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-s.notify:
			if leader && stop == nil {
				lctx, cancel := context.WithCancel(ctx)
				stop = cancel
				wg.Add(1)
				go func() { defer wg.Done(); s.leaderLoop(lctx) }()
			} else if !leader {
				end()
			}
		}
	}
}

// leaderLoop runs while this server leads: after a Barrier (so the FSM has
// every committed entry), it writes the settings, reconciles members, and
// closes epochs.
func (s *Server) leaderLoop(ctx context.Context) {
	s.log.Info("became leader; starting leader loops")
	defer s.log.Info("leader loops stopped")
	for {
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.Barrier(bctx)
		cancel()
		if err == nil {
			break
		}
		s.log.Warn("barrier failed", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	if d := s.Divergence(); d != "" {
		// A diverged server must not solve plans from its state: hand the
		// leadership to a server that agrees with the last leader.
		err := s.raft.LeadershipTransfer().Error()
		if err == nil {
			s.log.Error("this server's replicated state diverged: handed the leadership over", "divergence", d)
			return
		}
		s.log.Error("this server's replicated state diverged and no other server could take the leadership; leading anyway", "divergence", d, "error", err)
	}
	if err := s.ensureSettings(ctx); err != nil {
		s.log.Warn("could not write settings", "error", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.reconcileLoop(ctx) }()
	go func() { defer wg.Done(); s.epochLoop(ctx) }()
	wg.Wait()
}

func (s *Server) settings() fsm.Settings {
	st := fsm.DefaultSettings()
	if s.cfg.Epoch > 0 {
		st.EpochMS = s.cfg.Epoch.Milliseconds()
	}
	if s.cfg.BidTTL > 0 {
		st.BidTTL = s.cfg.BidTTL
	}
	if s.cfg.PlanHistory > 0 {
		st.PlanHistory = s.cfg.PlanHistory
	}
	if s.cfg.PlanHistoryBytes > 0 {
		st.PlanHistoryBytes = s.cfg.PlanHistoryBytes
	}
	if s.cfg.Options != (bidding.Options{}) {
		st.Options = s.cfg.Options
	}
	return st
}

// ensureSettings makes the replicated settings match this leader's configuration.
func (s *Server) ensureSettings(ctx context.Context) error {
	want := s.settings()
	have, ok := s.fsm.Settings()
	if ok && have == want {
		return nil
	}
	_, err := s.Apply(ctx, fsm.CmdSetSettings, fsm.SetSettings{Settings: want})
	return err
}

// epochLoop closes an epoch at each deadline: it reads the state at one
// index, solves, and commits the plan as a Raft entry. Deadlines keep a
// steady cadence, one epoch apart from the last plan's creation this
// leader found when it took over, not from each plan's creation (which
// comes after the solve and the commit, so epochs would drift later by
// that much each time); a deadline missed by a whole epoch (a slow
// commit, the epoch length changed) restarts the cadence from now.
func (s *Server) epochLoop(ctx context.Context) {
	var next time.Time
	for {
		st, _ := s.fsm.Settings()
		epoch := time.Duration(st.EpochMS) * time.Millisecond
		now := time.Now()
		if next.IsZero() {
			next = now.Add(epoch)
			if p, ok := s.fsm.LatestPlan(); ok && !p.Created.IsZero() {
				next = p.Created.Add(epoch)
			}
		}
		if next.Before(now.Add(-epoch)) || next.After(now.Add(epoch)) {
			next = now
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(epoch)
		if err := s.CloseEpoch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("closing epoch failed", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// CloseEpoch solves the next epoch from the committed state and commits the plan.
func (s *Server) CloseEpoch(ctx context.Context) error {
	in := s.fsm.SolveInputs()
	prob := bidding.Problem{Epoch: in.Epoch, Nodes: in.Nodes, Services: in.Services, Bids: in.Bids,
		Boosts: in.Boosts, Previous: in.Previous, Options: in.Settings.Options}
	t0 := time.Now()
	plan, err := s.solve(prob)
	if err != nil {
		return fmt.Errorf("solving epoch %d: %w", in.Epoch, err)
	}
	plan.Stats.SolveMS = float64(time.Since(t0).Microseconds()) / 1000
	plan.Epoch = in.Epoch
	plan.InputIndex = in.Index
	plan.Created = time.Now().UTC().Truncate(time.Millisecond)
	// The explanations stay here (explain.go): the log gets the plan without them.
	ex := plan.Explain
	plan.Explain = nil
	s.keepExplained(prob, *plan, ex)
	idx, delta, err := s.commitPlan(ctx, plan, in.Previous)
	if err != nil {
		return fmt.Errorf("committing plan of epoch %d: %w", in.Epoch, err)
	}
	s.log.Info("committed plan", "epoch", plan.Epoch, "index", idx, "allocations", len(plan.Allocations), "delta", delta, "hash", plan.Hash, "solve_ms", plan.Stats.SolveMS)
	s.checkState(ctx, idx)
	return nil
}

// commitPlan commits plan as a delta against base, the latest plan the
// inputs were read with (fsm/plandelta.go: a few hundred kB instead of
// 13 MB at 100k placements), or whole when there is no base (the first
// plan) or the FSM refused the delta (its base was not the latest plan,
// fsm.ErrPlanBase, or a bug in the delta: the whole plan then meets the
// FSM's own checks, so a delta bug can cost an entry, never an epoch). It
// reports whether the delta was committed.
func (s *Server) commitPlan(ctx context.Context, plan, base *bidding.Plan) (uint64, bool, error) {
	if base != nil && base.Index > 0 && !s.cfg.WholePlanEntries {
		idx, err := s.Apply(ctx, fsm.CmdCommitPlanDelta, fsm.NewCommitPlanDelta(plan, base))
		var rej *RejectedError
		if !errors.As(err, &rej) {
			return idx, true, err
		}
		s.log.Warn("plan delta refused, committing the whole plan", "epoch", plan.Epoch, "base_mismatch", errors.Is(err, fsm.ErrPlanBase), "error", err)
	}
	idx, err := s.Apply(ctx, fsm.CmdCommitPlan, fsm.CommitPlan{Plan: *plan})
	return idx, false, err
}

// solve calls the solver and turns a panic into an error: a solver bug must
// not take the leader down with it.
func (s *Server) solve(p bidding.Problem) (plan *bidding.Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("solver panicked: %v", r)
		}
	}()
	plan, err = s.solver.Solve(p)
	if err == nil && plan == nil {
		err = fmt.Errorf("solver returned no plan")
	}
	return plan, err
}

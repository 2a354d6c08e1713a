package fsm

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/allot-dev/allot/bidding"
)

// Apply functions, one per row of the command table (command.go). Each
// validates first and returns an error without changing anything, or
// changes the state. State values are replaced, never changed in place: a
// snapshot may still be reading the maps and slices it shares (snapshot.go).

func applyRegisterService(s *state, _ uint64, c *RegisterService) error {
	if err := c.Service.Validate(); err != nil {
		return err
	}
	s.Services[c.Service.Name] = c.Service
	return nil
}

func applyDeregisterService(s *state, _ uint64, c *DeregisterService) error {
	if _, ok := s.Services[c.Name]; !ok {
		return fmt.Errorf("name: service %q is not registered", c.Name)
	}
	delete(s.Services, c.Name)
	delete(s.Boosts, c.Name)
	for k := range s.Bids {
		if svc, _, _ := strings.Cut(k, "/"); svc == c.Name {
			delete(s.Bids, k)
		}
	}
	dropUsageLocked(s, func(svc, _ string) bool { return svc == c.Name })
	dropHistoryLocked(s, c.Name)
	return nil
}

func applySubmitBids(s *state, _ uint64, c *SubmitBids) error {
	if len(c.Bids) == 0 {
		return errors.New("bids: empty")
	}
	for i := range c.Bids {
		if err := validateBidLocked(s, &c.Bids[i]); err != nil {
			return fmt.Errorf("bid %d: %w", i, err)
		}
	}
	for _, b := range c.Bids {
		k := placementKey(b.Service, b.Node)
		// Copy on write: a snapshot may hold the placement's old map.
		m := make(map[uint64]bidding.Bid, len(s.Bids[k])+1)
		maps.Copy(m, s.Bids[k])
		m[b.Epoch] = b
		s.Bids[k] = m
	}
	return nil
}

// applySubmitBidBatch applies each request as applySubmitBids would in an
// entry of its own, in order; only an empty batch refuses the whole entry.
// Errors carry the prefix FSM.Apply gives a refused submit-bids entry, so a
// writer sees the same answer whether its request was batched or not.
func applySubmitBidBatch(s *state, index uint64, c *SubmitBidBatch) (any, error) {
	if len(c.Requests) == 0 {
		return nil, errors.New("requests: empty")
	}
	res := &BatchResult{Errs: make([]error, len(c.Requests))}
	for i := range c.Requests {
		if err := applySubmitBids(s, index, &c.Requests[i]); err != nil {
			res.Errs[i] = fmt.Errorf("%s rejected: %w", CmdSubmitBids, err)
		}
	}
	return res, nil
}

func applyCommitPlan(s *state, index uint64, c *CommitPlan) error {
	return commitPlanLocked(s, index, c.Plan)
}

func applySetBoost(s *state, _ uint64, c *SetBoost) error {
	if err := c.Boost.Validate(); err != nil {
		return err
	}
	if _, ok := s.Services[c.Boost.Service]; !ok {
		return fmt.Errorf("service: %q is not registered", c.Boost.Service)
	}
	s.Boosts[c.Boost.Service] = c.Boost
	return nil
}

func applyClearBoost(s *state, _ uint64, c *ClearBoost) error {
	if _, ok := s.Boosts[c.Service]; !ok {
		return fmt.Errorf("service: %q has no boost", c.Service)
	}
	delete(s.Boosts, c.Service)
	return nil
}

func applyUpsertMember(s *state, _ uint64, c *UpsertMember) error {
	m := c.Member
	if m.ID == "" {
		return errors.New("member.id: must not be empty")
	}
	if err := bidding.ValidateName("member.name", m.Name); err != nil {
		return err
	}
	for id, old := range s.Members {
		if id != m.ID && old.Name == m.Name {
			delete(s.Members, id) // the name moved to a new ID (wiped data dir)
		}
	}
	s.Members[m.ID] = m
	s.indexClientNodes()
	return nil
}

func applyRemoveMember(s *state, _ uint64, c *RemoveMember) error {
	m, ok := s.Members[c.ID]
	if !ok {
		return fmt.Errorf("id: member %q is not recorded", c.ID)
	}
	delete(s.Members, c.ID)
	s.indexClientNodes()
	for k := range s.Bids {
		if _, node, _ := strings.Cut(k, "/"); node == m.Name {
			delete(s.Bids, k)
		}
	}
	dropUsageLocked(s, func(_, node string) bool { return node == m.Name })
	return nil
}

func applySetSettings(s *state, _ uint64, c *SetSettings) error {
	st := c.Settings
	if st.EpochMS <= 0 || st.BidTTL == 0 || st.PlanHistory <= 0 {
		return fmt.Errorf("settings: epoch_ms, bid_ttl and plan_history must be positive (got %d, %d, %d)", st.EpochMS, st.BidTTL, st.PlanHistory)
	}
	if st.PlanHistoryBytes < 0 {
		return fmt.Errorf("settings: plan_history_bytes must not be negative (got %d)", st.PlanHistoryBytes)
	}
	if st.PlanHistoryFormat < PlanHistoryFull || st.PlanHistoryFormat > PlanHistoryCompact {
		return fmt.Errorf("settings: plan_history_format %d is unknown (this build knows %d and %d)", st.PlanHistoryFormat, PlanHistoryFull, PlanHistoryCompact)
	}
	if have := s.settings().PlanHistoryFormat; s.Settings != nil && st.PlanHistoryFormat < have {
		return fmt.Errorf("settings: plan_history_format %d would go back from %d (the state keeps compact past plans; "+
			"a leader of a build from before them cannot lead this cluster: upgrade it)", st.PlanHistoryFormat, have)
	}
	s.Settings = &st // new bounds of the plan history apply at the next plan
	return nil
}

func applyReportUsage(s *state, _ uint64, c *ReportUsage) error {
	return applyUsageLocked(s, c.Report)
}

func applySetRegressors(s *state, _ uint64, c *SetRegressors) error {
	return applyRegressorsLocked(s, c.Regressors)
}

func applyImportHistory(s *state, _ uint64, c *ImportHistory) error {
	return applyHistoryLocked(s, c.History)
}

func applyACLBootstrap(s *state, index uint64, c *ACLBootstrap) error {
	return applyACLLocked(s, index, c)
}

func applyACLTokenCreate(s *state, index uint64, c *ACLTokenCreate) error {
	return applyACLLocked(s, index, c)
}

func applyACLTokenDelete(s *state, index uint64, c *ACLTokenDelete) error {
	return applyACLLocked(s, index, c)
}

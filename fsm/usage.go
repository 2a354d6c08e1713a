package fsm

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/allot-dev/allot/bidding"
)

// UsageReport is what one client node measured during one epoch: each local
// service's actual usage per resource, in base units (millicores, bytes,
// bytes/s, bits/s). "During epoch E" is while plan E was in force.
type UsageReport struct {
	Node     string         `json:"node"`
	Epoch    uint64         `json:"epoch"`
	Services []ServiceUsage `json:"services"`
}

// ServiceUsage is one service's actual usage on the reporting node.
type ServiceUsage struct {
	Service string           `json:"service"`
	Actual  map[string]int64 `json:"actual"` // resource name -> base units
}

// ReportUsage stores a usage report, each service paired with the bid its
// placement had in force for that epoch.
type ReportUsage struct {
	Report UsageReport `json:"report"`
}

// UsagePair is one epoch of one placement: what was used, and what its bid
// in force for that epoch said (absent when it had none, or only a stale
// one reduced to its floor). The quantiles are the bid's: the client's
// forecast after its bidding rules (bidrule.ClientBid), which is what the
// solver saw.
type UsagePair struct {
	Epoch    uint64                       `json:"epoch"`
	Actual   map[string]int64             `json:"actual"`
	BidEpoch uint64                       `json:"bid_epoch,omitempty"`
	Forecast map[string]bidding.Quantiles `json:"forecast,omitempty"`
}

// MaxUsageServices bounds the services of one report (as a bid batch).
const MaxUsageServices = 1000

// ValidateUsageReport checks a report on its own (names, resources,
// values); the error names the field.
func ValidateUsageReport(r *UsageReport) error {
	if err := bidding.ValidateName("node", r.Node); err != nil {
		return err
	}
	if r.Epoch == 0 {
		return errors.New("epoch: must be at least 1 (the epoch of a committed plan)")
	}
	if len(r.Services) == 0 {
		return errors.New("services: empty")
	}
	if len(r.Services) > MaxUsageServices {
		return fmt.Errorf("services: %d entries, at most %d", len(r.Services), MaxUsageServices)
	}
	seen := map[string]bool{}
	for i, s := range r.Services {
		if err := bidding.ValidateName(fmt.Sprintf("services[%d].service", i), s.Service); err != nil {
			return err
		}
		if seen[s.Service] {
			return fmt.Errorf("services[%d].service: %q appears twice", i, s.Service)
		}
		seen[s.Service] = true
		if len(s.Actual) == 0 {
			return fmt.Errorf("services[%d].actual: empty", i)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Actual)) {
			if _, err := bidding.ParseResource(k); err != nil {
				return fmt.Errorf("services[%d].actual.%s: %w", i, k, err)
			}
			if v := s.Actual[k]; v < 0 || v > bidding.MaxQuantity {
				return fmt.Errorf("services[%d].actual.%s: %d is outside [0, %d]", i, k, v, bidding.MaxQuantity)
			}
		}
	}
	return nil
}

// validateUsageLocked checks a report against the replicated state: a known
// client node, registered services, and an epoch whose plan was committed
// and is still within plan_history.
func validateUsageLocked(s *state, r *UsageReport) error {
	if err := ValidateUsageReport(r); err != nil {
		return err
	}
	if !s.hasClientNode(r.Node) {
		return fmt.Errorf("node: %q is not a known client node", r.Node)
	}
	latest := s.latestEpoch()
	if r.Epoch > latest {
		return fmt.Errorf("epoch: %d has no committed plan yet (latest %d)", r.Epoch, latest)
	}
	if hist := uint64(s.settings().PlanHistory); r.Epoch+hist <= latest {
		return fmt.Errorf("epoch: %d is more than plan_history (%d) epochs before the latest %d", r.Epoch, hist, latest)
	}
	for i, su := range r.Services {
		if _, ok := s.Services[su.Service]; !ok {
			return fmt.Errorf("services[%d].service: %q is not registered", i, su.Service)
		}
	}
	return nil
}

func applyUsageLocked(s *state, r UsageReport) error {
	if err := validateUsageLocked(s, &r); err != nil {
		return err
	}
	if s.Usage == nil {
		s.Usage = map[string][]UsagePair{}
	}
	keep := s.settings().PlanHistory
	for _, su := range r.Services {
		k := placementKey(su.Service, r.Node)
		p := UsagePair{Epoch: r.Epoch, Actual: maps.Clone(su.Actual)}
		if b, ok := bidInForceLocked(s, k, r.Epoch); ok {
			p.BidEpoch = b.Epoch
			p.Forecast = map[string]bidding.Quantiles{}
			for res, q := range b.Resources {
				p.Forecast[res] = q
			}
		}
		pairs := slices.Clone(s.Usage[k]) // copy on write: a snapshot may hold the old slice
		i := sort.Search(len(pairs), func(i int) bool { return pairs[i].Epoch >= r.Epoch })
		if i < len(pairs) && pairs[i].Epoch == r.Epoch {
			pairs[i] = p // a resent report replaces
		} else {
			pairs = slices.Insert(pairs, i, p)
		}
		if len(pairs) > keep {
			pairs = slices.Clone(pairs[len(pairs)-keep:])
		}
		s.Usage[k] = pairs
	}
	return nil
}

// bidInForceLocked is the placement's newest bid with epoch <= epoch, if it
// is not yet stale (bid_ttl epochs old) at that epoch.
func bidInForceLocked(s *state, key string, epoch uint64) (bidding.Bid, bool) {
	bids := s.Bids[key]
	eps := sortedEpochs(bids)
	for i := len(eps) - 1; i >= 0; i-- {
		if eps[i] <= epoch {
			b := bids[eps[i]]
			if b.Epoch+s.settings().BidTTL <= epoch {
				return bidding.Bid{}, false
			}
			return b, true
		}
	}
	return bidding.Bid{}, false
}

// dropUsageLocked removes the usage of every placement keep rejects.
func dropUsageLocked(s *state, drop func(service, node string) bool) {
	for k := range s.Usage {
		svc, node := splitKey(k)
		if drop(svc, node) {
			delete(s.Usage, k)
		}
	}
	if len(s.Usage) == 0 {
		s.Usage = nil
	}
}

func splitKey(k string) (service, node string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// ValidateUsage checks a report against the current state without applying
// it, so that the API refuses bad input before it reaches the log.
func (f *FSM) ValidateUsage(r UsageReport) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return validateUsageLocked(f.st, &r)
}

// Usage returns a service's recent usage pairs by node (nodes sorted, each
// node's pairs oldest first). Values are copies.
func (f *FSM) Usage(service string) map[string][]UsagePair {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := map[string][]UsagePair{}
	for k, pairs := range f.st.Usage {
		svc, node := splitKey(k)
		if svc != service {
			continue
		}
		cp := make([]UsagePair, len(pairs))
		for i, p := range pairs {
			cp[i] = UsagePair{Epoch: p.Epoch, Actual: maps.Clone(p.Actual), BidEpoch: p.BidEpoch, Forecast: maps.Clone(p.Forecast)}
		}
		out[node] = cp
	}
	return out
}

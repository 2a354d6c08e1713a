package fsm

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// HistoryPoint is one value of an imported usage history: base units
// (millicores, bytes, bytes/s, bits/s) at time T.
type HistoryPoint struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// UsageHistory is what a service used on a node before Allot measured it
// (`allot usage import`): per resource, points oldest first, about
// IntervalMS apart. A client warms a newly created forecaster with it.
type UsageHistory struct {
	Service    string                    `json:"service"`
	Node       string                    `json:"node"`
	IntervalMS int64                     `json:"interval_ms"`
	Points     map[string][]HistoryPoint `json:"points"`
}

// ImportHistory stores a (service, node)'s imported usage history,
// replacing an earlier import for the same placement.
type ImportHistory struct {
	History UsageHistory `json:"history"`
}

// Bounds of an imported history.
const (
	// MaxHistoryPoints is the number of points per resource: four weeks
	// of 5-minute points.
	MaxHistoryPoints = 8064
	// MinHistoryInterval and MaxHistoryInterval bound the spacing.
	MinHistoryInterval = time.Second
	MaxHistoryInterval = time.Hour
)

// ValidateUsageHistory checks an imported history on its own: names, an
// interval within [1 s, 1 h], known resources, 1..MaxHistoryPoints points
// per resource with times strictly increasing within [1970, 2200) and
// values finite within [0, MaxQuantity]. The error names the field
// (points.cpu[3].v).
func ValidateUsageHistory(h *UsageHistory) error {
	if err := bidding.ValidateName("service", h.Service); err != nil {
		return err
	}
	if err := bidding.ValidateName("node", h.Node); err != nil {
		return err
	}
	iv := time.Duration(h.IntervalMS) * time.Millisecond
	if h.IntervalMS < MinHistoryInterval.Milliseconds() || h.IntervalMS > MaxHistoryInterval.Milliseconds() {
		return fmt.Errorf("interval_ms: %d (%s) is outside [%s, %s]", h.IntervalMS, iv, MinHistoryInterval, MaxHistoryInterval)
	}
	if len(h.Points) == 0 {
		return errors.New("points: empty (want at least one of cpu, memory, io, net)")
	}
	for _, res := range slices.Sorted(maps.Keys(h.Points)) {
		if _, err := bidding.ParseResource(res); err != nil {
			return fmt.Errorf("points.%s: %w", res, err)
		}
		pts := h.Points[res]
		if len(pts) == 0 {
			return fmt.Errorf("points.%s: empty", res)
		}
		if len(pts) > MaxHistoryPoints {
			return fmt.Errorf("points.%s: %d points, at most %d (four weeks of 5-minute points)", res, len(pts), MaxHistoryPoints)
		}
		for i, p := range pts {
			if p.T.Before(minRegressorTime) || !p.T.Before(maxRegressorTime) {
				return fmt.Errorf("points.%s[%d].t: %s is outside [%s, %s)", res, i,
					p.T.Format(time.RFC3339Nano), minRegressorTime.Format(time.RFC3339), maxRegressorTime.Format(time.RFC3339))
			}
			if i > 0 && !p.T.After(pts[i-1].T) {
				return fmt.Errorf("points.%s[%d].t: %s is not after the previous point's %s (times must be strictly increasing)", res, i,
					p.T.Format(time.RFC3339Nano), pts[i-1].T.Format(time.RFC3339Nano))
			}
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.V < 0 || p.V > float64(bidding.MaxQuantity) {
				return fmt.Errorf("points.%s[%d].v: %v is outside [0, %d] (base units)", res, i, p.V, bidding.MaxQuantity)
			}
		}
	}
	return nil
}

// validateHistoryLocked checks an import against the state: the service
// must be registered. The node need not have joined yet (a history is
// typically imported before its client starts).
func validateHistoryLocked(s *state, h *UsageHistory) error {
	if err := ValidateUsageHistory(h); err != nil {
		return err
	}
	if _, ok := s.Services[h.Service]; !ok {
		return fmt.Errorf("service: %q is not registered", h.Service)
	}
	return nil
}

func applyHistoryLocked(s *state, h UsageHistory) error {
	if err := validateHistoryLocked(s, &h); err != nil {
		return err
	}
	stored := UsageHistory{Service: h.Service, Node: h.Node, IntervalMS: h.IntervalMS, Points: map[string][]HistoryPoint{}}
	for res, pts := range h.Points {
		cp := make([]HistoryPoint, len(pts))
		for i, p := range pts {
			cp[i] = HistoryPoint{T: p.T.UTC(), V: p.V}
		}
		stored.Points[res] = cp
	}
	if s.History == nil {
		s.History = map[string]UsageHistory{}
	}
	s.History[placementKey(h.Service, h.Node)] = stored // a newer import replaces
	return nil
}

// dropHistoryLocked removes the imported histories of a service.
func dropHistoryLocked(s *state, service string) {
	for k := range s.History {
		if svc, _ := splitKey(k); svc == service {
			delete(s.History, k)
		}
	}
	if len(s.History) == 0 {
		s.History = nil
	}
}

// ValidateHistory checks an import against the current state without
// applying it, so that the API refuses bad input before it reaches the log.
func (f *FSM) ValidateHistory(h UsageHistory) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return validateHistoryLocked(f.st, &h)
}

// History returns the imported history of (service, node), a copy.
func (f *FSM) History(service, node string) (UsageHistory, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	h, ok := f.st.History[placementKey(service, node)]
	if !ok {
		return UsageHistory{}, false
	}
	out := h
	out.Points = make(map[string][]HistoryPoint, len(h.Points))
	for res, pts := range h.Points {
		out.Points[res] = slices.Clone(pts)
	}
	return out, true
}

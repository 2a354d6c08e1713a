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

// RegressorPoint is one value of an external regressor (weather, an event
// indicator, a business metric) at one time. Times are the caller's: the
// FSM never reads a clock; it stores them in UTC.
type RegressorPoint struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// SetRegressors merges regressor values by name and time: a point at an
// instant already stored replaces its value, every other point is added,
// and each name then keeps its newest RegressorKeep(plan_history) points
// (by time). A name with an empty (or null) list is removed.
type SetRegressors struct {
	Regressors map[string][]RegressorPoint `json:"regressors"`
}

// Bounds of regressor data.
const (
	// MaxRegressorNames is the number of regressor names kept in the state.
	MaxRegressorNames = 64
	// MaxRegressorPoints is the number of points one command may carry.
	MaxRegressorPoints = 20000
	// RegressorKeepFactor × plan_history is the number of points kept per
	// name: plan_history epochs of the past (the window usage is kept for)
	// plus as many of the future (e.g. a day of weather forecast at the
	// default 5m epoch and plan_history 288), at one point per epoch.
	RegressorKeepFactor = 2
	// MaxRegressorAbs bounds a value's magnitude (as forecast.MaxAbsValue).
	MaxRegressorAbs = 1e15
)

// Regressor times must lie within [minRegressorTime, maxRegressorTime)
// (inside the range of Unix nanoseconds the forecaster keys them by).
var (
	minRegressorTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxRegressorTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// RegressorKeep is the number of points kept per regressor name.
func RegressorKeep(planHistory int) int { return max(planHistory, 1) * RegressorKeepFactor }

// ValidateRegressors checks a regressor update on its own; keep is the
// number of points kept per name (RegressorKeep), which also bounds the
// points of one name in one update. The error names the field.
func ValidateRegressors(set map[string][]RegressorPoint, keep int) error {
	if len(set) == 0 {
		return errors.New("regressors: empty")
	}
	if len(set) > MaxRegressorNames {
		return fmt.Errorf("regressors: %d names, at most %d", len(set), MaxRegressorNames)
	}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(set)) {
		pts := set[name]
		if err := bidding.ValidateName("regressors", name); err != nil {
			return err
		}
		if len(pts) > keep {
			return fmt.Errorf("regressors.%s: %d points, at most %d (%d × plan_history are kept per name)", name, len(pts), keep, RegressorKeepFactor)
		}
		total += len(pts)
		if total > MaxRegressorPoints {
			return fmt.Errorf("regressors: more than %d points in one request", MaxRegressorPoints)
		}
		for i, p := range pts {
			if p.Time.Before(minRegressorTime) || !p.Time.Before(maxRegressorTime) {
				return fmt.Errorf("regressors.%s[%d].time: %s is outside [%s, %s)", name, i,
					p.Time.Format(time.RFC3339Nano), minRegressorTime.Format(time.RFC3339), maxRegressorTime.Format(time.RFC3339))
			}
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || math.Abs(p.Value) > MaxRegressorAbs {
				return fmt.Errorf("regressors.%s[%d].value: %v is not a finite number within ±%g", name, i, p.Value, MaxRegressorAbs)
			}
		}
	}
	return nil
}

// validateRegressorsLocked checks an update against the state: the bounds,
// and the number of names kept after it.
func validateRegressorsLocked(s *state, set map[string][]RegressorPoint) error {
	if err := ValidateRegressors(set, RegressorKeep(s.settings().PlanHistory)); err != nil {
		return err
	}
	n := len(s.Regressors)
	for name, pts := range set {
		_, have := s.Regressors[name]
		switch {
		case have && len(pts) == 0:
			n--
		case !have && len(pts) > 0:
			n++
		}
	}
	if n > MaxRegressorNames {
		return fmt.Errorf("regressors: %d names would be kept, at most %d (remove one with an empty list)", n, MaxRegressorNames)
	}
	return nil
}

func applyRegressorsLocked(s *state, set map[string][]RegressorPoint) error {
	if err := validateRegressorsLocked(s, set); err != nil {
		return err
	}
	keep := RegressorKeep(s.settings().PlanHistory)
	for _, name := range slices.Sorted(maps.Keys(set)) {
		pts := set[name]
		if len(pts) == 0 {
			delete(s.Regressors, name)
			continue
		}
		byTime := map[int64]RegressorPoint{}
		for _, p := range s.Regressors[name] {
			byTime[p.Time.UnixNano()] = p
		}
		for _, p := range pts { // in order: a later duplicate in one command wins
			byTime[p.Time.UnixNano()] = RegressorPoint{Time: p.Time.UTC(), Value: p.Value}
		}
		merged := make([]RegressorPoint, 0, len(byTime))
		for _, ns := range slices.Sorted(maps.Keys(byTime)) {
			merged = append(merged, byTime[ns])
		}
		if len(merged) > keep {
			merged = slices.Clone(merged[len(merged)-keep:])
		}
		if s.Regressors == nil {
			s.Regressors = map[string][]RegressorPoint{}
		}
		s.Regressors[name] = merged
	}
	if len(s.Regressors) == 0 {
		s.Regressors = nil
	}
	return nil
}

// ValidateRegressors checks an update against the current state without
// applying it, so that the API refuses bad input before it reaches the log.
func (f *FSM) ValidateRegressors(set map[string][]RegressorPoint) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return validateRegressorsLocked(f.st, set)
}

// Regressors returns the stored values of the named regressors (all of
// them when names is empty), each oldest first. Values are copies.
func (f *FSM) Regressors(names ...string) map[string][]RegressorPoint {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := map[string][]RegressorPoint{}
	for name, pts := range f.st.Regressors {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		out[name] = slices.Clone(pts)
	}
	return out
}

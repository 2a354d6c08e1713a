package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/allot-dev/allot/fsm"
)

// RegressorsRequest is the body of PUT /v1/regressors: values of external
// regressors by name, each a list of {time (RFC 3339), value}.
type RegressorsRequest struct {
	Regressors map[string][]RegressorValue `json:"regressors"`
}

// RegressorValue is one point as a request carries it.
type RegressorValue struct {
	Time  string   `json:"time"`
	Value *float64 `json:"value"`
}

// RegressorsView is the answer of GET /v1/regressors (the same shape as the
// request, times in UTC, each name's points oldest first).
type RegressorsView struct {
	Regressors map[string][]fsm.RegressorPoint `json:"regressors"`
}

// points parses a request into the command's points; errors name the field.
func (q *RegressorsRequest) points() (map[string][]fsm.RegressorPoint, error) {
	if len(q.Regressors) == 0 {
		return nil, badRequest("regressors: empty (want {\"regressors\": {\"NAME\": [{\"time\": RFC 3339, \"value\": number}, ...]}})")
	}
	out := make(map[string][]fsm.RegressorPoint, len(q.Regressors))
	for _, name := range slices.Sorted(maps.Keys(q.Regressors)) {
		vals := q.Regressors[name]
		pts := make([]fsm.RegressorPoint, 0, len(vals))
		for i, v := range vals {
			t, err := time.Parse(time.RFC3339Nano, v.Time)
			if err != nil {
				return nil, badRequest("regressors.%s[%d].time: %q is not an RFC 3339 time such as 2026-12-01T10:00:00Z", name, i, v.Time)
			}
			if v.Value == nil {
				return nil, badRequest("regressors.%s[%d].value: missing", name, i)
			}
			pts = append(pts, fsm.RegressorPoint{Time: t, Value: *v.Value})
		}
		out[name] = pts
	}
	return out, nil
}

// putRegressors merges external regressor values (PUT /v1/regressors).
func (s *Server) putRegressors(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req RegressorsRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	set, err := req.points()
	if err != nil {
		return err
	}
	st, _ := s.fsm().Settings()
	if err := fsm.ValidateRegressors(set, fsm.RegressorKeep(st.PlanHistory)); err != nil {
		return badRequest("%v", err)
	}
	n := 0
	for _, pts := range set {
		n += len(pts)
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		if err := s.fsm().ValidateRegressors(set); err != nil {
			return nil, badRequest("%v", err)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdSetRegressors, fsm.SetRegressors{Regressors: set})
		if err != nil {
			return nil, fmt.Errorf("storing regressors: %w", err)
		}
		return map[string]any{"index": idx, "names": len(set), "points": n}, nil
	})
}

// getRegressors answers the stored values (GET /v1/regressors[?name=N...]).
func (s *Server) getRegressors(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, RegressorsView{Regressors: s.fsm().Regressors(r.URL.Query()["name"]...)})
}

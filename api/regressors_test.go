package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
)

// TestRegressorsAPI: bad bodies answer 400 naming the field (never 5xx),
// a good one is replicated and GET /v1/regressors answers it merged,
// sorted and in UTC, optionally filtered by name.
func TestRegressorsAPI(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	base := n.HTTP.URL
	// The leader writes the cluster's settings once it leads: the bound
	// depends on them, so wait for them rather than read the defaults.
	var st fsm.Settings
	waitfor.True(t, "the leader's settings", 10*time.Second, func() bool {
		var ok bool
		st, ok = n.Server.FSM().Settings()
		return ok
	})
	keep := fsm.RegressorKeep(st.PlanHistory)
	long := make([]string, keep+1)
	for i := range long {
		long[i] = fmt.Sprintf(`{"time":"%s","value":1}`, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
	}
	cases := []struct {
		name, body, errPart string
	}{
		{"empty body", ``, "body"},
		{"no regressors", `{}`, "regressors: empty"},
		{"empty map", `{"regressors":{}}`, "regressors: empty"},
		{"unknown field", `{"regressors":{"x":[]},"extra":1}`, "extra"},
		{"not a list", `{"regressors":{"x":5}}`, "regressors"},
		{"bad name", `{"regressors":{"bad name":[{"time":"2026-12-01T10:00:00Z","value":1}]}}`, `regressors: "bad name"`},
		{"bad time", `{"regressors":{"temp":[{"time":"yesterday","value":1}]}}`, "regressors.temp[0].time"},
		{"time without zone", `{"regressors":{"temp":[{"time":"2026-12-01T10:00:00","value":1}]}}`, "regressors.temp[0].time"},
		{"missing time", `{"regressors":{"temp":[{"value":1}]}}`, "regressors.temp[0].time"},
		{"missing value", `{"regressors":{"temp":[{"time":"2026-12-01T10:00:00Z"}]}}`, "regressors.temp[0].value: missing"},
		{"string value", `{"regressors":{"temp":[{"time":"2026-12-01T10:00:00Z","value":"hot"}]}}`, "value"},
		{"overflowing value", `{"regressors":{"temp":[{"time":"2026-12-01T10:00:00Z","value":1e400}]}}`, "value"},
		{"huge value", `{"regressors":{"temp":[{"time":"2026-12-01T10:00:00Z","value":1e16}]}}`, "regressors.temp[0].value"},
		{"time out of range", `{"regressors":{"temp":[{"time":"1969-12-31T23:59:59Z","value":1}]}}`, "regressors.temp[0].time"},
		{"too many points", `{"regressors":{"temp":[` + strings.Join(long, ",") + `]}}`, fmt.Sprintf("regressors.temp: %d points, at most %d", keep+1, keep)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := do(t, "PUT", base+"/v1/regressors", tc.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d (%v), want 400", resp.StatusCode, m)
			}
			if !strings.Contains(fmt.Sprint(m["error"]), tc.errPart) {
				t.Fatalf("error %q does not name %q", m["error"], tc.errPart)
			}
		})
	}
	if len(n.Server.FSM().Regressors()) != 0 {
		t.Fatal("a refused request stored regressors")
	}

	cl := n.Client()
	ctx := context.Background()
	one, two := 12.5, 1.0
	req := api.RegressorsRequest{Regressors: map[string][]api.RegressorValue{
		"temperature":  {{Time: "2026-12-01T11:00:00+01:00", Value: &two}, {Time: "2026-12-01T09:00:00Z", Value: &one}},
		"black_friday": {{Time: "2026-11-27T00:00:00Z", Value: &two}},
	}}
	if _, err := cl.Do(ctx, "PUT", "/v1/regressors", req, nil); err != nil {
		t.Fatal(err)
	}
	var v api.RegressorsView
	if _, err := cl.Do(ctx, "GET", "/v1/regressors", nil, &v); err != nil {
		t.Fatal(err)
	}
	temp := v.Regressors["temperature"]
	if len(v.Regressors) != 2 || len(temp) != 2 || temp[0].Value != 12.5 || temp[1].Time.Format(time.RFC3339) != "2026-12-01T10:00:00Z" {
		t.Fatalf("GET /v1/regressors: %+v", v)
	}
	v = api.RegressorsView{}
	if _, err := cl.Do(ctx, "GET", "/v1/regressors?name=black_friday&name=ghost", nil, &v); err != nil || len(v.Regressors) != 1 || len(v.Regressors["black_friday"]) != 1 {
		t.Fatalf("filtered GET: %+v %v", v, err)
	}
	// An empty list removes a name.
	if resp, m := do(t, "PUT", base+"/v1/regressors", `{"regressors":{"black_friday":[]}}`); resp.StatusCode != 200 {
		t.Fatalf("removing a name: %d %v", resp.StatusCode, m)
	}
	if got := n.Server.FSM().Regressors(); len(got) != 1 {
		t.Fatalf("after removal: %+v", got)
	}
}

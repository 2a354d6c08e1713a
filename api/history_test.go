package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/internal/testcluster"
)

func historyBody(service, node string, n int, mod func(i int) string) string {
	pts := make([]string, n)
	for i := range pts {
		pts[i] = fmt.Sprintf(`{"t":"%s","v":%d}`, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i)*5*time.Minute).Format(time.RFC3339), 800+i%3)
		if mod != nil {
			if p := mod(i); p != "" {
				pts[i] = p
			}
		}
	}
	return fmt.Sprintf(`{"service":%q,"node":%q,"interval_ms":300000,"points":{"cpu":[%s]}}`, service, node, strings.Join(pts, ","))
}

// TestUsageHistoryAPI: bad imports answer 400 naming the field (never a
// 5xx) and never move the Raft index; a good one is replicated whole and
// read back per (service, node), 404 when there is none.
func TestUsageHistoryAPI(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	base := n.HTTP.URL
	if resp, m := do(t, "PUT", base+"/v1/service/web", `{"class":"standard"}`); resp.StatusCode != 200 {
		t.Fatalf("register: %d %v", resp.StatusCode, m)
	}
	at := func(i int, v string) func(int) string {
		return func(j int) string {
			if j == i {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name, path, body, errPart string
	}{
		{"empty body", "web", ``, "body"},
		{"unknown field", "web", `{"node":"n1","extra":1}`, "extra"},
		{"other service in body", "web", historyBody("db", "n1", 2, nil), `"db" in the body differs from "web"`},
		{"unregistered", "ghost", historyBody("ghost", "n1", 2, nil), `service: "ghost" is not registered`},
		{"bad node", "web", historyBody("web", "no node", 2, nil), "node:"},
		{"no node", "web", historyBody("web", "", 2, nil), "node: must not be empty"},
		{"no points", "web", `{"node":"n1","interval_ms":300000,"points":{}}`, "points: empty"},
		{"interval", "web", strings.Replace(historyBody("web", "n1", 2, nil), "300000", "500", 1), "interval_ms: 500"},
		{"unknown resource", "web", strings.Replace(historyBody("web", "n1", 2, nil), `"cpu"`, `"gpu"`, 1), "points.gpu"},
		{"negative", "web", historyBody("web", "n1", 3, at(1, `{"t":"2026-12-01T10:05:00Z","v":-1}`)), "points.cpu[1].v"},
		{"duplicate time", "web", historyBody("web", "n1", 3, at(2, `{"t":"2026-12-01T10:05:00Z","v":1}`)), "points.cpu[2].t"},
		{"bad time", "web", historyBody("web", "n1", 3, at(0, `{"t":"yesterday","v":1}`)), "yesterday"},
		{"string value", "web", historyBody("web", "n1", 3, at(0, `{"t":"2026-12-01T10:00:00Z","v":"hot"}`)), "v"},
		{"too many", "web", historyBody("web", "n1", 8065, nil), "points.cpu: 8065 points, at most 8064"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Server.FSM().Index()
			resp, m := do(t, "PUT", base+"/v1/usage/history/"+tc.path, tc.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d (%v), want 400", resp.StatusCode, m)
			}
			if !strings.Contains(fmt.Sprint(m["error"]), tc.errPart) {
				t.Fatalf("error %q does not name %q", m["error"], tc.errPart)
			}
			if after := n.Server.FSM().Index(); after != before {
				t.Fatalf("a refused import moved the Raft index from %d to %d", before, after)
			}
		})
	}
	cl := api.NewClient(n.HTTP.Listener.Addr().String(), "")
	ctx := context.Background()
	if _, err := cl.UsageHistory(ctx, "web", "n1"); !api.IsNotFound(err) {
		t.Fatalf("before any import: %v, want a 404", err)
	}
	if resp, m := do(t, "GET", base+"/v1/usage/history/web", ""); resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(m["error"]), "?node=") {
		t.Fatalf("without ?node: %d %v", resp.StatusCode, m)
	}
	// The largest import allowed (four resources × 8064 points) fits in one request.
	big := api.UsageHistory{Service: "web", Node: "n1", IntervalMS: 300000, Points: map[string][]api.HistoryPoint{}}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, res := range []string{"cpu", "memory", "io", "net"} {
		for i := 0; i < 8064; i++ {
			big.Points[res] = append(big.Points[res], api.HistoryPoint{T: t0.Add(time.Duration(i) * 5 * time.Minute), V: float64(123456789 + i)})
		}
	}
	before := n.Server.FSM().Index()
	idx, err := cl.ImportHistory(ctx, big)
	if err != nil || idx <= before {
		t.Fatalf("import: index %d after %d: %v", idx, before, err)
	}
	got, err := cl.UsageHistory(ctx, "web", "n1")
	if err != nil || got.IntervalMS != 300000 || len(got.Points) != 4 || len(got.Points["net"]) != 8064 || !got.Points["cpu"][0].T.Equal(t0) {
		t.Fatalf("read back: %d resources, %v", len(got.Points), err)
	}
	// A newer import replaces it.
	if resp, m := do(t, "PUT", base+"/v1/usage/history/web", historyBody("", "n1", 2, nil)); resp.StatusCode != 200 || m["points"] != float64(2) {
		t.Fatalf("second import: %d %v", resp.StatusCode, m)
	}
	if got, _ := cl.UsageHistory(ctx, "web", "n1"); len(got.Points) != 1 || len(got.Points["cpu"]) != 2 {
		t.Fatalf("after the second import: %+v", got)
	}
	if _, err := cl.UsageHistory(ctx, "web", "n2"); !api.IsNotFound(err) {
		t.Fatalf("another node: %v, want a 404", err)
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
)

func do(t *testing.T, method, url string, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp, m
}

func TestStatusCodesAndHeaders(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	base := n.HTTP.URL
	cases := []struct {
		method, path, body string
		code               int
		errPart            string
	}{
		{"GET", "/v1/nope", "", 404, "no such endpoint"},
		{"POST", "/v1/plan", "", 405, "not allowed"},
		{"DELETE", "/v1/bids", "", 405, "not allowed"},
		{"GET", "/v1/plan?epoch=abc", "", 400, "epoch"},
		{"GET", "/v1/plan?epoch=77", "", 404, "plan"},
		{"GET", "/v1/plan?index=x", "", 400, "index"},
		{"GET", "/v1/plan?index=1&wait=forever", "", 400, "wait"},
		{"PUT", "/v1/service/web", `{"class":"vip"}`, 400, "class"},
		{"PUT", "/v1/service/web", `{"name":"other"}`, 400, "name"},
		{"PUT", "/v1/service/web", `{"min":{"cpu":-5}}`, 400, "min.cpu"},
		{"PUT", "/v1/service/web", `{"min":{"gpu":1}}`, 400, "gpu"},
		{"PUT", "/v1/service/web", `{"weight":"heavy"}`, 400, "weight"},
		{"DELETE", "/v1/service/ghost", "", 404, "ghost"},
		{"PUT", "/v1/boost/ghost", `{"factor":2,"ttl":"1m"}`, 400, "service"},
		{"PUT", "/v1/boost/web", `{"factor":0.5,"ttl":"1m"}`, 400, "factor"},
		{"PUT", "/v1/boost/web", `{"factor":2,"ttl":"soon"}`, 400, "ttl"},
		{"PUT", "/v1/bids", strings.Repeat(" ", api.MaxBody+10), 400, "body"},
		{"PUT", "/v1/agent/join", "", 400, "address"},
		{"DELETE", "/v1/operator/raft/peer", "", 400, "id"},
		{"DELETE", "/v1/operator/raft/peer?id=ghost", "", 400, "ghost"},
		{"DELETE", "/v1/operator/raft/peer?id=id-1", "", 400, "last voter"},
		{"GET", "/v1/plan/explain/ghost", "", 404, ""},
		{"GET", "/v1/health", "", 200, ""},
		{"GET", "/v1/status/leader", "", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, m := do(t, tc.method, base+tc.path, tc.body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, m, tc.code)
			}
			if tc.errPart != "" && !strings.Contains(fmt.Sprint(m["error"]), tc.errPart) {
				t.Fatalf("error %q does not name %q", m["error"], tc.errPart)
			}
			if resp.Header.Get("X-Allot-Index") == "" || resp.Header.Get("X-Allot-Known-Leader") == "" {
				t.Fatalf("missing index headers: %v", resp.Header)
			}
		})
	}
}

func TestServicesBoostAndMetrics(t *testing.T) {
	c := testcluster.Start(t, 1, 150*time.Millisecond)
	n := c.Leader(10 * time.Second)
	cl := n.Client()
	ctx := context.Background()
	s := bidding.Service{Name: "web", Class: bidding.ClassCritical}
	if _, err := cl.Do(ctx, "PUT", "/v1/service/web", s, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Do(ctx, "PUT", "/v1/boost/web", api.BoostRequest{Factor: 2, TTL: "1s", Reason: "error spike"}, nil); err != nil {
		t.Fatal(err)
	}
	var svcs []api.ServiceView
	if _, err := cl.Do(ctx, "GET", "/v1/services", nil, &svcs); err != nil || len(svcs) != 1 || svcs[0].Boost == nil || svcs[0].Boost.TTLEpochs != 7 {
		t.Fatalf("services %+v %v (a 1s boost at 150ms epochs lasts 7 epochs)", svcs, err)
	}
	// The boost expires by epochs.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if len(n.Server.FSM().Boosts()) == 0 {
			break
		}
	}
	if len(n.Server.FSM().Boosts()) != 0 {
		t.Fatal("boost did not expire")
	}
	resp, err := http.Get(n.HTTP.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"allot_raft_is_leader 1", "allot_plan_epoch", "allot_http_requests_total{"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Fatalf("metrics lack %q:\n%s", want, b)
		}
	}
	resp, err = http.Get(n.HTTP.URL + "/ui/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ui: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if _, err := cl.Do(ctx, "DELETE", "/v1/service/web", nil, nil); err != nil {
		t.Fatal(err)
	}
	var ae *api.Error
	if _, err := cl.Do(ctx, "GET", "/v1/service/web", nil, nil); !errors.As(err, &ae) || ae.Code != 404 {
		t.Fatalf("deregistered service still served: %v", err)
	}
}

func TestNoLeaderIsA503NotAHang(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour)
	l := c.Leader(10 * time.Second)
	f := c.Followers()
	c.Kill(f[0])
	c.Kill(f[1])
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && l.Server.IsLeader(); time.Sleep(20 * time.Millisecond) {
	}
	t0 := time.Now()
	resp, m := do(t, "PUT", l.HTTP.URL+"/v1/service/x", `{"class":"batch"}`)
	if resp.StatusCode != 503 {
		t.Fatalf("status %d %v, want 503", resp.StatusCode, m)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Fatalf("took %s", d)
	}
	resp, _ = do(t, "GET", l.HTTP.URL+"/v1/health", "")
	if resp.StatusCode != 503 {
		t.Fatalf("health %d with no leader", resp.StatusCode)
	}
}

func FuzzBidBody(f *testing.F) {
	f.Add([]byte(`{"service":"web","node":"n1","epoch":1,"resources":{"cpu":{"p50":1,"p90":2,"p99":3}}}`))
	f.Add([]byte(`[{"service":"web"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var bid bidding.Bid
		if json.Unmarshal(b, &bid) != nil {
			return
		}
		_ = bid.Validate() // must not panic
	})
}

func TestSettingsAreServed(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	var st fsm.Settings
	if _, err := api.NewClient(strings.TrimPrefix(n.HTTP.URL, "http://"), "").Do(context.Background(), "GET", "/v1/settings", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.EpochMS <= 0 || st.BidTTL == 0 || st.Options.Deadband != bidding.DefaultOptions().Deadband || st.Options.ShareCap != bidding.DefaultOptions().ShareCap {
		t.Fatalf("settings %+v: want the epoch and the default solver options", st)
	}
}

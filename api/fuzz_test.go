package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
)

// fuzzRoutes are the API's routes with their wildcards filled in.
var fuzzRoutes = []string{
	"/v1/health", "/v1/health/live", "/v1/internal/index", "/v1/status/leader", "/v1/status/peers", "/v1/agent/self",
	"/v1/agent/members", "/v1/services", "/v1/service/web", "/v1/bids", "/v1/plan", "/v1/plan/explain/web", "/v1/boosts",
	"/v1/boost/web", "/v1/nodes", "/v1/settings", "/v1/usage", "/v1/forecast/web", "/v1/usage/history/web", "/v1/regressors",
	"/v1/operator/raft/peer", "/v1/acl/bootstrap", "/v1/acl/token", "/v1/acl/tokens", "/v1/acl/token/self", "/v1/audit", "/metrics",
	"/v1/status/raft", "/v1/plan/history/web",
}

// FuzzHandlers sends any method, route, query and body to every handler:
// the answer is never a 500 (a handler panic or an unclassified error).
func FuzzHandlers(f *testing.F) {
	c := testcluster.Start(f, 1, time.Hour)
	base := c.Leader(10 * time.Second).HTTP.URL
	for i := range fuzzRoutes {
		f.Add(uint8(i), uint8(1), "", `{"class":"critical"}`)
		f.Add(uint8(i), uint8(0), "index=1&wait=1ms&epoch=x", "")
		f.Add(uint8(i), uint8(2), "id=x", `null`)
	}
	methods := []string{"GET", "PUT", "DELETE", "POST"}
	f.Fuzz(func(t *testing.T, route, method uint8, query, body string) {
		u := base + fuzzRoutes[int(route)%len(fuzzRoutes)]
		if query != "" {
			u += "?" + query
		}
		req, err := http.NewRequest(methods[int(method)%len(methods)], u, strings.NewReader(body))
		if err != nil {
			return // not a URL
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusInternalServerError {
			t.Fatalf("%s %s %.200q: 500 %s", req.Method, u, body, b)
		}
	})
}

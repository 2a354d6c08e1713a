package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
	"pgregory.net/rapid"
)

// TestRefusedCallsNeverMoveTheLog: any sequence of API calls, valid and
// not, never moves the Raft log when the answer is a 4xx. Nothing refused
// reaches the log (issue 13).
func TestRefusedCallsNeverMoveTheLog(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	base := n.HTTP.URL
	time.Sleep(300 * time.Millisecond) // let the leader's own first writes (settings, members) land
	names := []string{"web", "api", "db", "", "bad name", "../x", strings.Repeat("n", 200)}
	rapid.Check(t, func(rt *rapid.T) {
		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			name := rapid.SampledFrom(names).Draw(rt, "name")
			method, path, body := drawCall(rt, name)
			before := n.Server.Raft().LastIndex()
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				rt.Fatalf("%s %s: %v", method, path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			after := n.Server.Raft().LastIndex()
			if resp.StatusCode >= 500 {
				rt.Fatalf("%s %s %.200s: %d %s (bad input must be a 4xx)", method, path, body, resp.StatusCode, b)
			}
			if resp.StatusCode >= 400 && after != before {
				rt.Fatalf("%s %s %.200s: %d %s, but the log moved from %d to %d", method, path, body, resp.StatusCode, b, before, after)
			}
		}
	})
}

// drawCall draws one API call about service name.
func drawCall(rt *rapid.T, name string) (method, path, body string) {
	svc := "/v1/service/" + name
	boost := "/v1/boost/" + name
	switch rapid.IntRange(0, 11).Draw(rt, "kind") {
	case 0:
		return "PUT", svc, rapid.SampledFrom([]string{`{"class":"critical"}`, `{"class":"batch","weight":2}`, `{"class":"vip"}`, `null`,
			`{"class":"batch","class":"critical"}`, `{"cgroup":"../../etc"}`, `{"interface":"eth0; rm -rf /"}`, `{"forecast":{"interval":"bogus"}}`,
			`{"name":"other"}`, `{"min":{"cpu":-1}}`, `[]`, `{`, ``}).Draw(rt, "service body")
	case 1:
		return "DELETE", svc, ""
	case 2:
		f := rapid.SampledFrom([]string{"0", "0.5", "1", "2", "11", "1e999", `"x"`}).Draw(rt, "factor")
		ttl := rapid.SampledFrom([]string{"1m", "0s", "-1m", "bogus", "1ns", ""}).Draw(rt, "ttl")
		return "PUT", boost, fmt.Sprintf(`{"factor":%s,"ttl":%q}`, f, ttl)
	case 3:
		return "DELETE", boost, ""
	case 4:
		p50 := rapid.Int64Range(-5, 5000).Draw(rt, "p50")
		p99 := rapid.Int64Range(-5, 5000).Draw(rt, "p99")
		node := rapid.SampledFrom([]string{"n1", "ghost", ""}).Draw(rt, "node")
		res := rapid.SampledFrom([]string{"cpu", "gpu", "memory"}).Draw(rt, "resource")
		return "PUT", "/v1/bids", fmt.Sprintf(`{"service":%q,"node":%q,"epoch":%d,"resources":{%q:{"p50":%d,"p90":%d,"p99":%d}}}`,
			name, node, rapid.Uint64Range(0, 5).Draw(rt, "epoch"), res, p50, p50, p99)
	case 5:
		return "PUT", "/v1/bids", rapid.SampledFrom([]string{`null`, `[]`, `[null]`, `{"service":"web","service":"web"}`, `"x"`}).Draw(rt, "bids body")
	case 6:
		return "DELETE", "/v1/operator/raft/peer?id=" + rapid.SampledFrom([]string{"ghost", "", "id-1"}).Draw(rt, "peer"), ""
	case 7:
		return "PUT", "/v1/acl/bootstrap", ""
	case 8:
		return "PUT", "/v1/regressors", rapid.SampledFrom([]string{`null`, `{}`, `{"name":"t"}`, `{"values":[]}`}).Draw(rt, "regressors body")
	case 9:
		return "PUT", "/v1/usage", rapid.SampledFrom([]string{`null`, `{}`, `{"node":"n1"}`}).Draw(rt, "usage body")
	case 10:
		return "PUT", "/v1/usage/history/" + name, rapid.SampledFrom([]string{`null`, `{}`, `{"node":"n1","interval_ms":1}`}).Draw(rt, "history body")
	default:
		return rapid.SampledFrom([]string{"GET", "PUT", "DELETE", "POST"}).Draw(rt, "method"),
			rapid.SampledFrom([]string{"/v1/services", "/v1/plan", "/v1/boosts", "/v1/nope", "/v1/agent/join", "/v1/acl/token"}).Draw(rt, "path"),
			rapid.SampledFrom([]string{"", "{}", "null"}).Draw(rt, "body")
	}
}

package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
)

// Issue 13, findings 6, 7, 8 and 11: requests that must be refused with a
// 4xx and must not move the Raft log.
func TestRefusedWritesLeaveTheLogAlone(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	base := n.HTTP.URL
	if resp, m := do(t, "PUT", base+"/v1/service/api", `{"class":"critical","cgroup":"api"}`); resp.StatusCode != 200 {
		t.Fatalf("register: %d %v", resp.StatusCode, m)
	}
	long := strings.Repeat("x", 100_000)
	cases := []struct {
		name, method, path, body string
		code                     int
		errPart                  string
	}{
		{"#6 delete a boost that is not there", "DELETE", "/v1/boost/api", "", 404, "no boost"},
		{"#6 delete a boost with a long name", "DELETE", "/v1/boost/" + strings.Repeat("a", 10_000), "", 400, "service"},
		{"#7 null body", "PUT", "/v1/service/api", `null`, 400, "null"},
		{"#7 null bids", "PUT", "/v1/bids", `null`, 400, "null"},
		{"#7 null boost", "PUT", "/v1/boost/api", ` null `, 400, "null"},
		{"#8 huge cgroup", "PUT", "/v1/service/api", `{"cgroup":"` + strings.Repeat("c", 3<<20) + `"}`, 400, "cgroup"},
		{"#8 cgroup escapes", "PUT", "/v1/service/api", `{"cgroup":"../../../etc"}`, 400, "cgroup"},
		{"#8 interface with a shell", "PUT", "/v1/service/api", `{"interface":"eth0; rm -rf /"}`, 400, "interface"},
		{"#8 interface too long", "PUT", "/v1/service/api", `{"interface":"eth0123456789abcdef"}`, 400, "interface"},
		{"#8 long model", "PUT", "/v1/service/api", `{"forecast":{"model":"` + long + `"}}`, 400, "forecast.model"},
		{"#8 unknown model", "PUT", "/v1/service/api", `{"forecast":{"model":"crystal-ball"}}`, 400, "forecast.model"},
		{"#8 bogus interval", "PUT", "/v1/service/api", `{"forecast":{"interval":"bogus"}}`, 400, "forecast.interval"},
		{"#8 metadata probe", "PUT", "/v1/service/api", `{"sla":{"probe":"http://169.254.169.254/latest","latency_p99_above":"300ms"}}`, 400, "sla.probe"},
		{"#13 boost of 1ns", "PUT", "/v1/boost/api", `{"factor":2,"ttl":"1ns"}`, 400, "ttl"},
		{"#11 duplicate key", "PUT", "/v1/service/api", `{"class":"batch","class":"critical"}`, 400, "class"},
		{"#11 duplicate nested key", "PUT", "/v1/service/api", `{"min":{"cpu":1,"cpu":2}}`, 400, "min.cpu"},
		{"#11 duplicate key in a list", "PUT", "/v1/bids", `[{"service":"api","service":"api","node":"n1","epoch":1,"resources":{"cpu":{"p50":1,"p90":1,"p99":1}}}]`, 400, "service"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Server.Raft().LastIndex()
			resp, m := do(t, tc.method, base+tc.path, tc.body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, m, tc.code)
			}
			if msg := fmt.Sprint(m["error"]); !strings.Contains(msg, tc.errPart) || len(msg) > 1000 {
				t.Fatalf("error %.200q does not name %q in under 1000 characters", msg, tc.errPart)
			}
			time.Sleep(20 * time.Millisecond)
			if after := n.Server.Raft().LastIndex(); after != before {
				t.Fatalf("refused request moved the Raft log from %d to %d", before, after)
			}
		})
	}
	sv, err := n.Client().Service(t.Context(), "api")
	if err != nil || sv.Class != "critical" || sv.Cgroup != "api" {
		t.Fatalf("the registered service changed: %+v %v", sv, err)
	}
}

package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeSource struct {
	snap   Snapshot
	solves []Solve
	asked  []uint64
}

func (f *fakeSource) MetricsSnapshot() Snapshot { return f.snap }
func (f *fakeSource) SolvesAfter(e uint64) []Solve {
	f.asked = append(f.asked, e)
	var out []Solve
	for _, s := range f.solves {
		if s.Epoch > e {
			out = append(out, s)
		}
	}
	return out
}

func i64(v int64) *int64 { return &v }

func testSource() *fakeSource {
	return &fakeSource{snap: Snapshot{IsLeader: true, HasLeader: true, RaftState: "Leader", AppliedIndex: 42, RaftLogBytes: 1 << 20, Divergences: 1, Services: 1,
		EpochLength: 5 * time.Second,
		Plan: &Plan{Epoch: 7, Created: time.Unix(1700000000, 0), SolveSeconds: 0.004, Problems: 2,
			Allocations: []Placement{{Service: "web", Node: "n1", Granted: Quantity{CPU: 1500, Memory: 256 << 20, IO: 1 << 20, Net: 84000}}},
			Nodes:       []NodeState{{Node: "n1", Capacity: Quantity{CPU: 4000, Memory: 8 << 30}, ShadowPrice: map[string]float64{"cpu": 0.25}}}},
		Usage: []Usage{{Service: "web", Node: "n1", Resource: "cpu", Actual: 900, P50: i64(800), P90: i64(1000), P99: i64(1200), Forecasts: 4, CoverageP90: 0.75, CoverageP99: 1}}},
		solves: []Solve{{5, 0.001}, {6, 0.002}, {7, 0.004}}}
}

// TestClusterCollectorUnits: every family passes promlint (base units,
// _total on counters, HELP everywhere), and each value is converted to the
// family's unit: millicores to cores, bits/s to bytes/s.
func TestClusterCollectorUnits(t *testing.T) {
	c := NewClusterCollector(testSource())
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP allot_allocation_cpu_cores Allocation of the latest plan per placement (served by the leader), CPU in cores.
# TYPE allot_allocation_cpu_cores gauge
allot_allocation_cpu_cores{node="n1",service="web"} 1.5
# HELP allot_allocation_net_bytes_per_second Allocation of the latest plan per placement (served by the leader), network egress in bytes per second.
# TYPE allot_allocation_net_bytes_per_second gauge
allot_allocation_net_bytes_per_second{node="n1",service="web"} 10500
# HELP allot_allocation_memory_bytes Allocation of the latest plan per placement (served by the leader), memory in bytes.
# TYPE allot_allocation_memory_bytes gauge
allot_allocation_memory_bytes{node="n1",service="web"} 2.68435456e+08
# HELP allot_forecast_cpu_cores Forecast percentile of the bid in force for the latest reported epoch (served by the leader), CPU in cores.
# TYPE allot_forecast_cpu_cores gauge
allot_forecast_cpu_cores{node="n1",percentile="p50",service="web"} 0.8
allot_forecast_cpu_cores{node="n1",percentile="p90",service="web"} 1
allot_forecast_cpu_cores{node="n1",percentile="p99",service="web"} 1.2
# HELP allot_usage_cpu_cores Actual usage reported for the latest epoch (served by the leader), CPU in cores.
# TYPE allot_usage_cpu_cores gauge
allot_usage_cpu_cores{node="n1",service="web"} 0.9
# HELP allot_forecast_coverage_ratio Fraction of kept epochs whose actual usage was at or below the bid's percentile (nominal: 0.9 for p90, 0.99 for p99; served by the leader).
# TYPE allot_forecast_coverage_ratio gauge
allot_forecast_coverage_ratio{node="n1",percentile="p90",resource="cpu",service="web"} 0.75
allot_forecast_coverage_ratio{node="n1",percentile="p99",resource="cpu",service="web"} 1
# HELP allot_node_capacity_cpu_cores A node's allocatable capacity in the latest plan, CPU in cores.
# TYPE allot_node_capacity_cpu_cores gauge
allot_node_capacity_cpu_cores{node="n1"} 4
# HELP allot_state_divergences_total State checks whose hash differed from the leader's on this server.
# TYPE allot_state_divergences_total counter
allot_state_divergences_total 1
# HELP allot_raft_is_leader 1 when this server is the Raft leader.
# TYPE allot_raft_is_leader gauge
allot_raft_is_leader 1
# HELP allot_raft_log_bytes Bytes of the entries in this server's Raft log (what its byte budget bounds; not the file's size).
# TYPE allot_raft_log_bytes gauge
allot_raft_log_bytes 1.048576e+06
# HELP allot_plan_epoch Epoch of the latest committed plan.
# TYPE allot_plan_epoch gauge
allot_plan_epoch 7
# HELP allot_plan_created_timestamp_seconds When the leader made the latest committed plan (Unix time).
# TYPE allot_plan_created_timestamp_seconds gauge
allot_plan_created_timestamp_seconds 1.7e+09
`
	names := []string{"allot_allocation_cpu_cores", "allot_allocation_net_bytes_per_second", "allot_allocation_memory_bytes",
		"allot_forecast_cpu_cores", "allot_usage_cpu_cores", "allot_forecast_coverage_ratio", "allot_node_capacity_cpu_cores",
		"allot_state_divergences_total", "allot_raft_is_leader", "allot_raft_log_bytes", "allot_plan_epoch", "allot_plan_created_timestamp_seconds"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// TestSolveHistogramObservesEachPlanOnce: plans are observed once each,
// however often the registry is scraped.
func TestSolveHistogramObservesEachPlanOnce(t *testing.T) {
	src := testSource()
	c := NewClusterCollector(src)
	for range 3 {
		if _, err := testutil.CollectAndLint(c); err != nil {
			t.Fatal(err)
		}
	}
	want := "allot_plan_solve_duration_seconds_count 3"
	r := New()
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, r)
	if !strings.Contains(body, want) {
		t.Errorf("want %q in:\n%s", want, grep(body, "solve_duration_seconds_count"))
	}
	src.snap.Plan.Epoch = 8
	src.solves = append(src.solves, Solve{8, 0.5})
	if body = scrape(t, r); !strings.Contains(body, "allot_plan_solve_duration_seconds_count 4") {
		t.Errorf("after plan 8: %s", grep(body, "solve_duration_seconds_count"))
	}
}

// TestRegistryServesStandardFamilies: go_*, process_* (where procfs
// exists), the HTTP histogram, and an unknown method folded into "other".
func TestRegistryServesStandardFamilies(t *testing.T) {
	r := New()
	r.ObserveHTTP("GET", "/v1/plan", 200, 3*time.Millisecond)
	r.ObserveHTTP("BREW", "/", 405, time.Millisecond)
	r.BidsReceived(3)
	r.DecoyKilled()
	body := scrape(t, r)
	for _, want := range []string{"go_goroutines ", "# TYPE allot_http_request_duration_seconds histogram",
		`allot_http_request_duration_seconds_bucket{method="GET",route="/v1/plan",le="0.005"} 1`,
		`allot_http_requests_total{code="405",method="other",route="/"} 1`, "allot_bids_received_total 3", "allot_client_oom_decoy_kills_total 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if _, err := testutil.GatherAndLint(r.Gatherer(), "allot_http_requests_total", "allot_http_request_duration_seconds", "allot_bids_received_total", "allot_client_oom_decoy_kills_total"); err != nil {
		t.Error(err)
	}
}

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return string(b)
}

func grep(body, sub string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

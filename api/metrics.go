package api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics are the agent's Prometheus counters and gauges, written in the
// text exposition format without a client library.
type Metrics struct {
	bids atomic.Uint64

	mu       sync.Mutex
	requests map[string]uint64 // "method code" -> count
	latency  map[string]float64
	gauges   map[string]func() float64
}

func newMetrics() *Metrics {
	return &Metrics{requests: map[string]uint64{}, latency: map[string]float64{}, gauges: map[string]func() float64{}}
}

// Gauge registers a gauge read at scrape time.
func (m *Metrics) Gauge(name string, fn func() float64) {
	m.mu.Lock()
	m.gauges[name] = fn
	m.mu.Unlock()
}

func (m *Metrics) observeHTTP(method string, code int, d time.Duration) {
	k := method + " " + strconv.Itoa(code)
	m.mu.Lock()
	m.requests[k]++
	m.latency[method] += d.Seconds()
	m.mu.Unlock()
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	m := s.metrics
	var b strings.Builder
	b.WriteString("# HELP allot_http_requests_total HTTP requests by method and status code.\n# TYPE allot_http_requests_total counter\n")
	m.mu.Lock()
	keys := make([]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mc := strings.SplitN(k, " ", 2)
		fmt.Fprintf(&b, "allot_http_requests_total{method=%q,code=%q} %d\n", mc[0], mc[1], m.requests[k])
	}
	b.WriteString("# HELP allot_http_request_seconds_total Time spent serving HTTP requests.\n# TYPE allot_http_request_seconds_total counter\n")
	lk := make([]string, 0, len(m.latency))
	for k := range m.latency {
		lk = append(lk, k)
	}
	sort.Strings(lk)
	for _, k := range lk {
		fmt.Fprintf(&b, "allot_http_request_seconds_total{method=%q} %g\n", k, m.latency[k])
	}
	gk := make([]string, 0, len(m.gauges))
	for k := range m.gauges {
		gk = append(gk, k)
	}
	sort.Strings(gk)
	gauges := make([]func() float64, len(gk))
	for i, k := range gk {
		gauges[i] = m.gauges[k]
	}
	m.mu.Unlock()
	fmt.Fprintf(&b, "# HELP allot_bids_received_total Bids accepted by this server as leader.\n# TYPE allot_bids_received_total counter\nallot_bids_received_total %d\n", m.bids.Load())
	if s.cluster != nil {
		f := s.cluster.FSM()
		p, _ := f.LatestPlan()
		leader := 0
		if s.cluster.IsLeader() {
			leader = 1
		}
		fmt.Fprintf(&b, "# TYPE allot_raft_applied_index gauge\nallot_raft_applied_index %d\n", f.Index())
		fmt.Fprintf(&b, "# TYPE allot_raft_is_leader gauge\nallot_raft_is_leader %d\n", leader)
		fmt.Fprintf(&b, "# TYPE allot_plan_epoch gauge\nallot_plan_epoch %d\n", p.Epoch)
		fmt.Fprintf(&b, "# TYPE allot_plan_solve_ms gauge\nallot_plan_solve_ms %g\n", p.Stats.SolveMS)
		fmt.Fprintf(&b, "# TYPE allot_plan_allocations gauge\nallot_plan_allocations %d\n", len(p.Allocations))
		fmt.Fprintf(&b, "# TYPE allot_services gauge\nallot_services %d\n", len(f.Services()))
		divs, _ := f.Divergences()
		fmt.Fprintf(&b, "# HELP allot_state_divergences_total State checks whose hash differed from the leader's on this server.\n# TYPE allot_state_divergences_total counter\nallot_state_divergences_total %d\n", divs)
		for _, a := range p.Allocations {
			fmt.Fprintf(&b, "allot_allocation{service=%q,node=%q,resource=\"cpu\"} %d\n", a.Service, a.Node, a.CPU)
			fmt.Fprintf(&b, "allot_allocation{service=%q,node=%q,resource=\"memory\"} %d\n", a.Service, a.Node, a.Memory)
		}
	}
	for i, k := range gk {
		fmt.Fprintf(&b, "# TYPE %s gauge\n%s %g\n", k, k, gauges[i]())
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, err := w.Write([]byte(b.String()))
	return err
}

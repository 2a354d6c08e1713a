// Package metrics is the agent's Prometheus registry: HTTP and bid
// counters, the cluster collector (allocation, forecast, usage, coverage,
// plan and Raft state read at scrape time), the Go and process collectors,
// and the bridge that brings raft's and memberlist's own telemetry in.
// Each agent makes its own Registry and passes it down; nothing here is
// registered on prometheus.DefaultRegisterer.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes Allot's own families.
const Namespace = "allot"

// Registry is one agent's metrics.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bids     prometheus.Counter
	decoy    prometheus.Counter
}

// New makes a registry with the Go and process collectors and the agent's
// own HTTP and bid families.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests served, by method, route (the API route pattern) and status code.",
	}, []string{"method", "route", "code"})
	r.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help: "Time to serve an HTTP request, by method and route (blocking queries included).",
		// Blocking plan watches last up to minutes: the top buckets keep them apart.
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"method", "route"})
	r.bids = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "bids_received_total",
		Help: "Bids accepted by this server as leader.",
	})
	r.decoy = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "client_oom_decoy_kills_total",
		Help: "Times the kernel's OOM killer took this node's OOM decoy: a second kill that would have fallen on a service within its memory reservation.",
	})
	r.reg.MustRegister(r.requests, r.latency, r.bids, r.decoy,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Register adds a collector (the cluster collector, the library bridge).
func (r *Registry) Register(c prometheus.Collector) error { return r.reg.Register(c) }

// Gatherer is the registry, for tests and the handler.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in the Prometheus exposition formats. An
// error of one collector is logged in the answer's place, not a 500, so
// one bad family does not hide the rest.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveHTTP counts one served request. route is the matched route
// pattern without its method ("/v1/plan"), so the label set is bounded.
func (r *Registry) ObserveHTTP(method, route string, code int, d time.Duration) {
	switch method { // a client chooses the method: keep the label set bounded
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch, http.MethodOptions:
	default:
		method = "other"
	}
	r.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	r.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// BidsReceived counts bids accepted as leader.
func (r *Registry) BidsReceived(n int) { r.bids.Add(float64(n)) }

// DecoyKilled counts one OOM kill of the node's OOM decoy (enforce.Decoy).
func (r *Registry) DecoyKilled() { r.decoy.Inc() }

package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Quantity is one amount per resource in the API's base units: millicores,
// bytes, bytes/s and bits/s (bidding.Vec). The collector converts them to
// Prometheus base units (cores, bytes, bytes/s, bytes/s).
type Quantity struct{ CPU, Memory, IO, Net int64 }

func (q Quantity) get(res string) int64 {
	switch res {
	case "cpu":
		return q.CPU
	case "memory":
		return q.Memory
	case "io":
		return q.IO
	case "net":
		return q.Net
	}
	return 0
}

// Placement is one (service, node) allocation of the latest plan.
type Placement struct {
	Service, Node string
	Granted       Quantity
}

// NodeState is one node of the latest plan.
type NodeState struct {
	Node        string
	Capacity    Quantity
	ShadowPrice map[string]float64 // by resource name; utility per base unit
}

// Plan is what the collector shows of the latest committed plan.
type Plan struct {
	Epoch        uint64
	Created      time.Time
	SolveSeconds float64
	Problems     int
	Placements   int         // allocations in the plan (Allocations may be left empty)
	Allocations  []Placement // per-placement series; the API fills them on the leader only
	Nodes        []NodeState
}

// Usage is one (service, node, resource): the latest reported actual, the
// forecast of the bid in force for that epoch (nil: none), and the coverage
// of p90 and p99 over the kept epochs (Forecasts: how many had one).
type Usage struct {
	Service, Node, Resource string
	Actual                  int64
	P50, P90, P99           *int64
	Forecasts               int
	CoverageP90             float64
	CoverageP99             float64
}

// Solve is one committed plan's solve time.
type Solve struct {
	Epoch   uint64
	Seconds float64
}

// Snapshot is what one server knows at scrape time.
type Snapshot struct {
	IsLeader     bool
	HasLeader    bool
	RaftState    string // "Leader", "Follower", "Candidate", "Shutdown"
	AppliedIndex uint64
	// RaftLogBytes is the bytes of the entries in this server's Raft log
	// (-1: not known, a server in memory).
	RaftLogBytes int64
	Divergences  uint64
	Services     int
	EpochLength  time.Duration // the cluster's epoch (0: unknown)
	Plan         *Plan         // nil before the first plan
	Usage        []Usage       // the API fills it on the leader only
}

// Source is what the cluster collector reads: the state, and the solve
// times of kept plans newer than an epoch (for the solve histogram).
type Source interface {
	MetricsSnapshot() Snapshot
	SolvesAfter(epoch uint64) []Solve
}

// resource is one allocated resource as Prometheus sees it.
type resource struct {
	name  string  // API name, and the resource label's value
	unit  string  // family suffix, the unit
	scale float64 // base API unit -> Prometheus base unit
	help  string
}

var resources = []resource{
	{"cpu", "cpu_cores", 1e-3, "CPU in cores"},
	{"memory", "memory_bytes", 1, "memory in bytes"},
	{"io", "io_bytes_per_second", 1, "block io in bytes per second"},
	{"net", "net_bytes_per_second", 1.0 / 8, "network egress in bytes per second"},
}

var raftStates = []string{"Leader", "Follower", "Candidate", "Shutdown"}

// ClusterCollector turns a Source's snapshot into families at scrape time.
type ClusterCollector struct {
	src Source

	isLeader, hasLeader, raftState, applied, divergences *prometheus.Desc
	logBytes                                             *prometheus.Desc
	services, epoch, created, epochLen, solveLast        *prometheus.Desc
	problems, allocations, shadow, coverage              *prometheus.Desc
	alloc, capacity, forecast, usage                     map[string]*prometheus.Desc

	mu        sync.Mutex
	solve     prometheus.Histogram
	lastSolve uint64 // newest epoch observed in solve
}

// NewClusterCollector reads src at every scrape.
func NewClusterCollector(src Source) *ClusterCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	c := &ClusterCollector{src: src,
		isLeader:    d("raft_is_leader", "1 when this server is the Raft leader."),
		hasLeader:   d("raft_has_leader", "1 when this server knows a Raft leader."),
		raftState:   d("raft_state", "This server's Raft state: 1 for the current one.", "state"),
		applied:     d("raft_applied_index", "Raft index of the last entry this server's state machine applied."),
		logBytes:    d("raft_log_bytes", "Bytes of the entries in this server's Raft log (what its byte budget bounds; not the file's size)."),
		divergences: d("state_divergences_total", "State checks whose hash differed from the leader's on this server."),
		services:    d("services", "Registered services."),
		epoch:       d("plan_epoch", "Epoch of the latest committed plan."),
		created:     d("plan_created_timestamp_seconds", "When the leader made the latest committed plan (Unix time)."),
		epochLen:    d("epoch_length_seconds", "The cluster's epoch: a plan is due this often."),
		solveLast:   d("plan_solve_seconds", "Solve time of the latest committed plan."),
		problems:    d("plan_problems", "Admission problems of the latest plan (floors above a node's capacity)."),
		allocations: d("plan_allocations", "Placements in the latest plan."),
		shadow:      d("node_shadow_price", "Shadow price of a node's resource in the latest plan (utility per base unit; 0: not scarce).", "node", "resource"),
		coverage:    d("forecast_coverage_ratio", "Fraction of kept epochs whose actual usage was at or below the bid's percentile (nominal: 0.9 for p90, 0.99 for p99; served by the leader).", "service", "node", "resource", "percentile"),
		alloc:       map[string]*prometheus.Desc{}, capacity: map[string]*prometheus.Desc{},
		forecast: map[string]*prometheus.Desc{}, usage: map[string]*prometheus.Desc{},
	}
	for _, r := range resources {
		c.alloc[r.name] = d("allocation_"+r.unit, "Allocation of the latest plan per placement (served by the leader), "+r.help+".", "service", "node")
		c.capacity[r.name] = d("node_capacity_"+r.unit, "A node's allocatable capacity in the latest plan, "+r.help+".", "node")
		c.forecast[r.name] = d("forecast_"+r.unit, "Forecast percentile of the bid in force for the latest reported epoch (served by the leader), "+r.help+".", "service", "node", "percentile")
		c.usage[r.name] = d("usage_"+r.unit, "Actual usage reported for the latest epoch (served by the leader), "+r.help+".", "service", "node")
	}
	c.solve = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "plan_solve_duration_seconds",
		Help:    "Solve time of each committed plan this server has seen.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14), // 0.5 ms .. ~73 s
	})
	return c
}

// Describe sends every family's descriptor.
func (c *ClusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.isLeader, c.hasLeader, c.raftState, c.applied, c.logBytes, c.divergences,
		c.services, c.epoch, c.created, c.epochLen, c.solveLast, c.problems, c.allocations, c.shadow, c.coverage} {
		ch <- d
	}
	for _, r := range resources {
		ch <- c.alloc[r.name]
		ch <- c.capacity[r.name]
		ch <- c.forecast[r.name]
		ch <- c.usage[r.name]
	}
	c.solve.Describe(ch)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect reads one snapshot and writes it out.
func (c *ClusterCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.MetricsSnapshot()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.isLeader, b2f(s.IsLeader))
	g(c.hasLeader, b2f(s.HasLeader))
	for _, st := range raftStates {
		g(c.raftState, b2f(s.RaftState == st), st)
	}
	g(c.applied, float64(s.AppliedIndex))
	if s.RaftLogBytes >= 0 {
		g(c.logBytes, float64(s.RaftLogBytes))
	}
	ch <- prometheus.MustNewConstMetric(c.divergences, prometheus.CounterValue, float64(s.Divergences))
	g(c.services, float64(s.Services))
	if s.EpochLength > 0 {
		g(c.epochLen, s.EpochLength.Seconds())
	}
	if p := s.Plan; p != nil {
		g(c.epoch, float64(p.Epoch))
		g(c.created, float64(p.Created.UnixNano())/1e9)
		g(c.solveLast, p.SolveSeconds)
		g(c.problems, float64(p.Problems))
		g(c.allocations, float64(max(p.Placements, len(p.Allocations))))
		for _, a := range p.Allocations {
			for _, r := range resources {
				g(c.alloc[r.name], float64(a.Granted.get(r.name))*r.scale, a.Service, a.Node)
			}
		}
		for _, n := range p.Nodes {
			for _, r := range resources {
				g(c.capacity[r.name], float64(n.Capacity.get(r.name))*r.scale, n.Node)
				if v, ok := n.ShadowPrice[r.name]; ok {
					g(c.shadow, v, n.Node, r.name)
				}
			}
		}
		c.observeSolves(p.Epoch)
	}
	byName := map[string]resource{}
	for _, r := range resources {
		byName[r.name] = r
	}
	for _, u := range s.Usage {
		r, ok := byName[u.Resource]
		if !ok {
			continue
		}
		g(c.usage[r.name], float64(u.Actual)*r.scale, u.Service, u.Node)
		for _, q := range []struct {
			v     *int64
			label string
		}{{u.P50, "p50"}, {u.P90, "p90"}, {u.P99, "p99"}} {
			if q.v != nil {
				g(c.forecast[r.name], float64(*q.v)*r.scale, u.Service, u.Node, q.label)
			}
		}
		if u.Forecasts > 0 {
			g(c.coverage, u.CoverageP90, u.Service, u.Node, u.Resource, "p90")
			g(c.coverage, u.CoverageP99, u.Service, u.Node, u.Resource, "p99")
		}
	}
	c.solve.Collect(ch)
}

// observeSolves adds the solve times of plans committed since the last
// scrape to the histogram (each plan once, while it is kept).
func (c *ClusterCollector) observeSolves(latest uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if latest <= c.lastSolve {
		return
	}
	for _, sv := range c.src.SolvesAfter(c.lastSolve) {
		if sv.Epoch > c.lastSolve && sv.Epoch <= latest {
			c.solve.Observe(sv.Seconds)
		}
	}
	c.lastSolve = latest
}

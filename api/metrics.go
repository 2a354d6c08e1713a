package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/metrics"
)

// serveMetrics answers GET /metrics from the agent's registry (package
// metrics); the ACL check in front of it is the route table's.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.Handler().ServeHTTP(w, r)
	return nil
}

// routeLabel is a mux pattern without its method: the bounded route label
// of the HTTP families ("/v1/plan", "/v1/service/{name}", "/" for 404s).
func routeLabel(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		return p
	}
	if pattern == "" {
		return "none"
	}
	return pattern
}

// clusterSource is what the cluster collector reads from a server.
type clusterSource struct{ s *Server }

func quantity(v bidding.Vec) metrics.Quantity {
	return metrics.Quantity{CPU: v[bidding.CPU], Memory: v[bidding.Memory], IO: v[bidding.IO], Net: v[bidding.Net]}
}

// MetricsSnapshot reads this server's view: Raft, the latest plan, and per
// placement and resource the latest actual with its forecast and coverage
// (the same pairing as GET /v1/forecast/{service}). The per-placement
// families (allocation, forecast, usage, coverage: 28 series a placement)
// come from the leader only: every server holds the same values, and three
// copies of 10,000 placements' series would triple what Prometheus stores
// and what each server spends per scrape (metrics/DESIGN.md).
func (cs clusterSource) MetricsSnapshot() metrics.Snapshot {
	c := cs.s.cluster
	f := c.FSM()
	_, lid := c.Leader()
	stats := c.Stats()
	snap := metrics.Snapshot{IsLeader: c.IsLeader(), HasLeader: lid != "", RaftState: stats["state"], AppliedIndex: f.Index(), RaftLogBytes: -1}
	if n, err := strconv.ParseInt(stats["log_bytes"], 10, 64); err == nil {
		snap.RaftLogBytes = n
	}
	snap.Divergences, _ = f.Divergences()
	if st, ok := f.Settings(); ok {
		snap.EpochLength = time.Duration(st.EpochMS) * time.Millisecond
	}
	svcs := f.Services()
	snap.Services = len(svcs)
	if p, ok := f.LatestPlan(); ok {
		mp := &metrics.Plan{Epoch: p.Epoch, Created: p.Created, SolveSeconds: p.Stats.SolveMS / 1000, Problems: len(p.Problems), Placements: len(p.Allocations)}
		if snap.IsLeader {
			for _, a := range p.Allocations {
				mp.Allocations = append(mp.Allocations, metrics.Placement{Service: a.Service, Node: a.Node,
					Granted: metrics.Quantity{CPU: a.CPU, Memory: a.Memory, IO: a.IO, Net: a.Net}})
			}
		}
		for _, n := range p.Nodes {
			mp.Nodes = append(mp.Nodes, metrics.NodeState{Node: n.Node, Capacity: quantity(n.Capacity), ShadowPrice: n.ShadowPrice})
		}
		snap.Plan = mp
	}
	if snap.IsLeader {
		snap.Usage = latestUsage(f, svcs)
	}
	return snap
}

// latestUsage is, per placement and resource, the latest reported actual
// with the forecast in force for it and the coverage over the kept epochs.
func latestUsage(f *fsm.FSM, svcs []bidding.Service) []metrics.Usage {
	var out []metrics.Usage
	for _, sv := range svcs {
		v := BuildForecastView(sv.Name, f.Usage(sv.Name))
		for _, n := range v.Nodes {
			for res, fr := range n.Resources {
				if len(fr.Points) == 0 {
					continue
				}
				last := fr.Points[len(fr.Points)-1]
				out = append(out, metrics.Usage{Service: sv.Name, Node: n.Node, Resource: res,
					Actual: last.Actual, P50: last.P50, P90: last.P90, P99: last.P99,
					Forecasts: fr.Summary.Forecasts, CoverageP90: fr.Summary.CoverageP90, CoverageP99: fr.Summary.CoverageP99})
			}
		}
	}
	return out
}

// SolvesAfter lists the solve times of the kept plans newer than epoch.
func (cs clusterSource) SolvesAfter(epoch uint64) []metrics.Solve {
	f := cs.s.cluster.FSM()
	var out []metrics.Solve
	f.EachPlan(func(p bidding.Plan) bool { // newest first
		if p.Epoch <= epoch {
			return false
		}
		out = append(out, metrics.Solve{Epoch: p.Epoch, Seconds: p.Stats.SolveMS / 1000})
		return true
	})
	slices.Reverse(out)
	return out
}

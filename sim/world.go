package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
)

const nr = bidding.NumResources

// World is a scenario made concrete: demand per service and resource in
// base units at every epoch (Warmup epochs of history, then Steps evaluated
// epochs), injected surges included.
type World struct {
	Name     string
	Epoch    time.Duration
	Warmup   int
	Steps    int
	Nodes    []string
	Svcs     []Svc
	Breaches []WBreach
	// SLAProbes: every service has an SLA probe (Scenario.SLAProbes).
	SLAProbes bool
	// ClientEpoch is how long the simulated client's epoch lasts in wall
	// time, where that is not one trace step (0: Epoch). The live harness
	// replays a 5-minute step every 5 s, and its clients' timing rules (how
	// much of an epoch a burst waits for a look's lend, bidrule.LendReaction,
	// and so what a class reserves, bidrule.LooksServe) are those of a 5 s
	// epoch: its prediction must model the same clients.
	ClientEpoch time.Duration
	// Borrow is how the Allot client enforces memory (Borrows; "" is
	// BorrowOff): allot sim --memory-borrow, whose default is BorrowOn,
	// the client's.
	Borrow string
	p95    [][nr]float64 // per service: organic 95th percentile over the evaluated window (capacity basis; see Build)
	norm   [][nr]float64 // per service: the unit slack and shortfall are counted in (p95, or the series' size where p95 is 0)
	fixed  []bidding.Vec // per node: capacities the scenario fixes (0: from the contention)
}

// clientEpoch is the simulated client's epoch in wall time (ClientEpoch).
func (w *World) clientEpoch() time.Duration {
	if w.ClientEpoch > 0 {
		return w.ClientEpoch
	}
	return w.Epoch
}

// Svc is one service of a World.
type Svc struct {
	Def    bidding.Service
	Node   int
	Has    [nr]bool
	Label  [nr]string    // series the resource replays
	Demand [nr][]float64 // Warmup+Steps values (nil where !Has)
}

// WBreach is a breach with the service resolved to its index.
type WBreach struct {
	Svc           int
	Start, Epochs int // evaluated-window epochs
	Factor        float64
}

// Build materialises a scenario.
func Build(sc *Scenario) (*World, error) {
	if sc.Epoch <= 0 {
		return nil, fmt.Errorf("scenario %s: epoch must be positive", sc.Name)
	}
	day := float64(24*time.Hour) / float64(sc.Epoch)
	w := &World{Name: sc.Name, SLAProbes: sc.SLAProbes, Epoch: sc.Epoch, Warmup: int(math.Round(sc.WarmupDays * day)), Steps: int(math.Round(sc.Days * day)), Nodes: slices.Clone(sc.Nodes)}
	if w.Steps < 1 {
		return nil, fmt.Errorf("scenario %s: %v days is less than one epoch", sc.Name, sc.Days)
	}
	if len(w.Nodes) == 0 || len(sc.Services) == 0 {
		return nil, fmt.Errorf("scenario %s: needs at least one node and one service", sc.Name)
	}
	node := map[string]int{}
	w.fixed = make([]bidding.Vec, len(w.Nodes))
	for i, n := range w.Nodes {
		w.fixed[i] = sc.Capacity[n]
		if err := bidding.ValidateName("node", n); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		node[n] = i
	}
	total := w.Warmup + w.Steps
	names := map[string]int{}
	for _, sp := range sc.Services {
		n, ok := node[sp.Node]
		if !ok {
			return nil, fmt.Errorf("scenario %s: service %s: unknown node %q", sc.Name, sp.Name, sp.Node)
		}
		s := Svc{Def: bidding.Service{Name: sp.Name, Class: sp.Class, Weight: sp.Weight, Min: sp.Min}, Node: n}
		if err := s.Def.Validate(); err != nil {
			return nil, fmt.Errorf("scenario %s: service %s: %w", sc.Name, sp.Name, err)
		}
		if _, dup := names[sp.Name]; dup {
			return nil, fmt.Errorf("scenario %s: service %s appears twice", sc.Name, sp.Name)
		}
		names[sp.Name] = len(w.Svcs)
		var p95, norm [nr]float64
		for r, ss := range sp.Series {
			if ss == nil || ss.Series == nil {
				continue
			}
			v := regrid(ss.Series.Values, ss.Series.Step, sc.Epoch)
			if ss.Offset < 0 || ss.Offset+total > len(v) {
				return nil, fmt.Errorf("scenario %s: service %s %s: series %s has %d epochs, %d needed from offset %d", sc.Name, sp.Name, bidding.Resource(r), ss.Series.ID(), len(v), total, ss.Offset)
			}
			d := make([]float64, total)
			for i := range d {
				d[i] = math.Max(0, v[ss.Offset+i])
			}
			// ref is the demand the series is sized by: its p95 over the
			// evaluated window, or for a mostly-zero series (p95 = 0) its
			// peak; a series at zero throughout stays at zero (an idle
			// disk is a normal workload: it forecasts zero and bids its
			// floor), counted in units of the size it was given.
			ref := quantile(d[w.Warmup:], 0.95)
			if ref <= 0 {
				ref = slices.Max(d)
			}
			scale := ss.Scale
			if scale <= 0 {
				scale = 0
				if ref > 0 {
					scale = ss.P95 / ref
				}
			}
			for i := range d {
				d[i] *= scale
			}
			s.Has[r], s.Demand[r], s.Label[r] = true, d, ss.Series.ID()
			p95[r] = ref * scale
			norm[r] = p95[r]
			if norm[r] <= 0 {
				norm[r] = ss.P95
			}
			if norm[r] <= 0 {
				norm[r] = 1
			}
		}
		if !slices.Contains(s.Has[:], true) {
			return nil, fmt.Errorf("scenario %s: service %s has no series", sc.Name, sp.Name)
		}
		w.Svcs = append(w.Svcs, s)
		w.p95 = append(w.p95, p95)
		w.norm = append(w.norm, norm)
	}
	for _, b := range sc.Breaches {
		i, ok := names[b.Service]
		if !ok {
			return nil, fmt.Errorf("scenario %s: breach: unknown service %q", sc.Name, b.Service)
		}
		if b.Start < 0 || b.Epochs < 1 || b.Factor <= 0 || math.IsNaN(b.Factor) {
			return nil, fmt.Errorf("scenario %s: breach on %s: start %d, %d epochs, factor %v: want start ≥ 0, at least one epoch, factor > 0", sc.Name, b.Service, b.Start, b.Epochs, b.Factor)
		}
		if b.Start >= w.Steps {
			continue // after the evaluated window (e.g. --days shortened it)
		}
		b.Epochs = min(b.Epochs, w.Steps-b.Start)
		w.Breaches = append(w.Breaches, WBreach{Svc: i, Start: b.Start, Epochs: b.Epochs, Factor: b.Factor})
		for r := range nr {
			if r == int(bidding.Memory) || !w.Svcs[i].Has[r] {
				continue
			}
			d := w.Svcs[i].Demand[r]
			for k := b.Start; k < b.Start+b.Epochs; k++ {
				d[w.Warmup+k] *= b.Factor
			}
		}
	}
	return w, nil
}

// Capacities returns the nodes with raw capacity such that, per node and
// resource, Σ(services' organic p95) / capacity = contention, except where
// the scenario fixes a node's capacity.
func (w *World) Capacities(contention float64) []bidding.Node {
	out := make([]bidding.Node, len(w.Nodes))
	for n, name := range w.Nodes {
		out[n].Name = name
	}
	var sum = make([][nr]float64, len(w.Nodes))
	for i, s := range w.Svcs {
		for r := range nr {
			sum[s.Node][r] += w.p95[i][r]
		}
	}
	for n := range out {
		for r := range nr {
			out[n].Capacity[r] = int64(math.Ceil(sum[n][r] / contention))
			if n < len(w.fixed) && w.fixed[n][r] > 0 {
				f := w.fixed[n][r]
				out[n].Capacity[r] = f
			}
		}
	}
	return out
}

// quantile is the q-quantile of v by linear interpolation (v is not modified).
func quantile(v []float64, q float64) float64 { return baseline.Quantile(v, q) }

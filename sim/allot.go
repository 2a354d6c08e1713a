package sim

import (
	"fmt"
	"math"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
)

// SLA probe and boost settings of the simulated clients: a service served
// less than slaServed of its demand in an epoch breaches its SLA; the client
// boosts it by boostFactor for boostTTL epochs (as `allot boost` would).
const (
	slaServed   = 0.9
	boostFactor = 3
	boostTTL    = 12
	slaEpochs   = 1 // consecutive breaching epochs before the probe boosts
)

type allotCfg struct {
	fair   bool // fairness floors (off: the bid's median is not declared, see bidFor)
	boost  bool // SLA probes raise boosts
	oracle bool // bids the true demand of the epoch
}

// allotPolicy runs the real solver every epoch on bids made from the
// client's forecasts, as the leader does.
type allotPolicy struct {
	e        *env
	cfg      allotCfg
	svcs     []bidding.Service
	index    map[string]int
	prev     *bidding.Plan
	boosts   []bidding.Boost
	until    []int // per service: evaluated epoch at which its boost ends
	shortRun []int // per service: consecutive epochs served below slaServed
	nBoost   int
	solveMS  float64
	solves   int
	opts     bidding.Options
	live     *liveForecasts // ObserveCapped: the run's own forecasters
	last     [][nr]int64    // the allocation of the last epoch
}

func newAllot(e *env, cfg allotCfg) *allotPolicy {
	p := &allotPolicy{e: e, cfg: cfg, index: map[string]int{}, until: make([]int, len(e.w.Svcs)), shortRun: make([]int, len(e.w.Svcs)), opts: bidding.DefaultOptions()}
	for i, s := range e.w.Svcs {
		def := s.Def
		if cfg.oracle {
			def.Min = bidding.Vec{} // knowing the demand, it needs no guaranteed minimum
		}
		p.svcs = append(p.svcs, def)
		p.index[s.Def.Name] = i
	}
	if cfg.oracle {
		// The oracle is the exact per-epoch optimum of the realised
		// utility: no share cap, no deadband, no previous plan.
		p.opts.ShareCap, p.opts.Deadband = 0, 0
	}
	return p
}

// epochOf numbers evaluated epoch k for the solver (epochs start at 1).
func epochOf(k int) uint64 { return uint64(k) + 1 }

func (p *allotPolicy) allocate(k int) ([][nr]int64, error) {
	w := p.e.w
	bids := make([]bidding.Bid, 0, len(w.Svcs))
	for s := range w.Svcs {
		b, err := p.bidFor(s, k)
		if err != nil {
			return nil, fmt.Errorf("epoch %d: %w", k, err)
		}
		bids = append(bids, b)
	}
	prob := bidding.Problem{Epoch: epochOf(k), Nodes: p.e.nodes, Services: p.svcs, Bids: bids, Boosts: p.boosts, Options: p.opts}
	if !p.cfg.oracle {
		prob.Previous = p.prev
	}
	plan, err := bidding.Solve(prob)
	if err != nil {
		return nil, fmt.Errorf("epoch %d: %w", k, err)
	}
	for _, pr := range plan.Problems {
		if strings.Contains(pr, "ignored") {
			// a simulated client must never send a bid the server drops
			return nil, fmt.Errorf("epoch %d: %s", k, pr)
		}
	}
	p.prev = plan
	p.solveMS += plan.Stats.SolveMS
	p.solves++
	out := make([][nr]int64, len(w.Svcs))
	for _, a := range plan.Allocations {
		s, ok := p.index[a.Service]
		if !ok {
			return nil, fmt.Errorf("epoch %d: plan allocates to unknown service %q", k, a.Service)
		}
		for r := range nr {
			out[s][r] = a.Get(bidding.Resource(r))
		}
	}
	p.last = out
	return out, nil
}

// bidFor is the bid a client sends for service s before evaluated epoch k.
func (p *allotPolicy) bidFor(s, k int) (bidding.Bid, error) {
	sv := p.e.w.Svcs[s]
	b := bidding.Bid{Service: sv.Def.Name, Node: p.e.w.Nodes[sv.Node], Epoch: epochOf(k), Resources: map[string]bidding.Quantiles{}}
	if !p.cfg.oracle {
		b.ForecastError = map[string]bidding.ForecastError{}
	}
	for r := range nr {
		if !sv.Has[r] {
			continue
		}
		name := bidding.Resource(r).String()
		if p.cfg.oracle {
			u := int64(math.Ceil(sv.Demand[r][p.e.w.Warmup+k]))
			// P50 = 0: with the future known there is nothing to hedge and
			// no floor to keep; the LP alone decides (pure weighted optimum).
			b.Resources[name] = bidding.Quantiles{P90: u, P99: u}
			continue
		}
		fq, fe := p.e.f.Q[s][r][k], p.e.f.Err[s][r][k]
		last := 0.0
		if k > 0 {
			last = p.e.observed(s, r, p.e.w.Warmup+k-1)
		}
		if p.live != nil {
			var err error
			if fq, fe, err = p.live.forecast(s, r); err != nil {
				return b, err
			}
			last = p.live.last[s][r]
		}
		var surge *bidrule.Surge
		if r != int(bidding.Memory) && k < p.until[s] && k > 0 {
			surge = &bidrule.Surge{Demand: last, Margin: reactiveMargin} // boosted: floored at the last demand
		}
		q := bidrule.ClientBid(bidding.Resource(r), sv.Def.Class, fq, p.opts.Deadband, surge)
		if !p.cfg.fair {
			// Workaround: bidding has no switch for fairness floors; a bid
			// without a median gets no floor (floors are a share of p50).
			q.P50 = 0
		}
		b.Resources[name] = q
		b.ForecastError[name] = fe
	}
	return b, nil
}

// observe is the SLA probe: a service served below slaServed raises a boost
// starting at the next epoch, unless one is already in force.
func (p *allotPolicy) observe(k int, served []float64) {
	if p.live != nil {
		p.live.observe(k, p.last)
	}
	if !p.cfg.boost {
		return
	}
	for s, f := range served {
		if f >= slaServed {
			p.shortRun[s] = 0
			continue
		}
		p.shortRun[s]++
		if p.shortRun[s] < slaEpochs || k+1 < p.until[s] || p.svcs[s].Class == bidding.ClassBatch {
			continue
		}
		p.boosts = append(p.boosts, bidding.Boost{Service: p.svcs[s].Name, Factor: boostFactor, StartEpoch: epochOf(k + 1), TTLEpochs: boostTTL, Reason: "sla probe: served below 90% of demand"})
		p.until[s] = k + 1 + boostTTL
		p.nBoost++
	}
	// forget expired boosts
	live := p.boosts[:0]
	for _, b := range p.boosts {
		if b.ExpireEpoch() > epochOf(k+1) {
			live = append(live, b)
		}
	}
	p.boosts = live
}

func (p *allotPolicy) stats() (int, float64) {
	if p.solves == 0 {
		return p.nBoost, 0
	}
	return p.nBoost, p.solveMS / float64(p.solves)
}

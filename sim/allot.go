package sim

import (
	"fmt"
	"math"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/client/sla"
)

// The simulated client acts as the real one (client/boost.go, epoch.go),
// one epoch behind: the usage of epoch k is measured when plan k+1 is
// committed, so it shapes the bid for k+2 and a boost it raises holds from
// plan k+2 (Lag). An SLA probe (every service of a scenario with
// sla_probes) breaches when the service is served below slaServed of its
// demand; the kernel's signals (sla.Pressure) are modelled from demand and
// allocation: a cpu demand above its limit is a throttled-hard interval
// (not for batch, as the client), a memory demand above its limit an OOM
// kill. Both go through the client's sla.Gate with its default factor and
// TTL.
const (
	slaServed = 0.9
	// Lag is how many epochs after an epoch's usage the bid it shapes
	// applies to.
	Lag = 2
	// memoryDemandFactor is how far above the larger of usage and limit a
	// client puts a memory demand the kernel held back (client/demand.go).
	memoryDemandFactor = 1.25
	// cpuStepFactor bounds an unprobed throttled demand (client/demand.go
	// cpuStep): 50% above the limit.
	cpuStepFactor = 1.5
	// atLimitFrac: a demand at this fraction of its cpu limit or above
	// reads, on a real kernel, as CFS throttling in most periods at ≥ 90%
	// of the quota (measured live: bursty loads near their quota are
	// throttled in most periods before they reach it).
	atLimitFrac = bidrule.AtLimit
)

// atLimit: a demand d at its limit a: for cpu it reads as throttled at
// the quota; for io and net the usage sits at the limit, and a probe may
// show more.
func atLimit(d, a float64) bool { return a > 0 && d >= atLimitFrac*a }

type allotCfg struct {
	fair   bool // fairness floors (off: the bid's median is not declared, see bidFor)
	boost  bool // SLA probes raise boosts
	oracle bool // bids the true demand of the epoch
}

// allotPolicy runs the real solver every epoch on bids made from the
// client's forecasts, as the leader does.
type allotPolicy struct {
	e         *env
	cfg       allotCfg
	svcs      []bidding.Service
	index     map[string]int
	prev      *bidding.Plan
	boosts    []bidding.Boost
	gate      *sla.Gate
	throttled []int // per service: epochs in a row throttled hard
	nBoost    int
	solveMS   float64
	solves    int
	opts      bidding.Options
	live      *liveForecasts      // the run's own forecasters (io and net; all under ObserveCapped)
	liveErr   error               // a failed live forecast, returned by the next allocate
	last      [][nr]int64         // the allocation of the last epoch
	tops      [][nr]bidTop        // the bids of the epoch being allocated (slack sources)
	bursts    [][nr]bidrule.Burst // whether each series' jumps last (lend.go)
}

// lastBids is the forecast p90 and bid top per service and resource of the
// last allocated epoch.
func (p *allotPolicy) lastBids() [][nr]bidTop { return p.tops }

func newAllot(e *env, cfg allotCfg) *allotPolicy {
	p := &allotPolicy{e: e, cfg: cfg, index: map[string]int{}, gate: sla.NewGate(), throttled: make([]int, len(e.w.Svcs)), opts: bidding.DefaultOptions()}
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
	if p.liveErr != nil {
		return nil, p.liveErr
	}
	bids := make([]bidding.Bid, 0, len(w.Svcs))
	if p.tops == nil {
		p.tops = make([][nr]bidTop, len(w.Svcs))
	}
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
	if !p.cfg.oracle {
		p.lend(k, out)
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
			d := sv.Demand[r][p.e.w.Warmup+k]
			if r == int(bidding.CPU) {
				d /= cfsEfficiency // what a quota must be to let d through
			}
			u := int64(math.Ceil(d))
			// P50 = 0: with the future known there is nothing to hedge and
			// no floor to keep; the LP alone decides (pure weighted optimum).
			b.Resources[name] = bidding.Quantiles{P90: u, P99: u}
			p.tops[s][r] = bidTop{p90: float64(u), top: float64(u)}
			continue
		}
		fq, fe := p.e.f.Q[s][r][k], p.e.f.Err[s][r][k]
		if p.live != nil && p.live.has(r) {
			var err error
			if fq, fe, err = p.live.forecast(s, r); err != nil {
				return b, err
			}
		}
		// Pressed Lag epochs ago (read: cpu at its limit, memory over it;
		// io and net never, as on a real kernel): the client floors the
		// bid at the demand it measured — by a probe when its node had
		// unallocated cpu for it (the demand, + 2%), else the upper bound
		// within cpuStep above the limit; for memory 25% above the limit.
		var sg *bidrule.Surge
		if v, held, ok := p.ioNetProbe(k-Lag, s, r); ok {
			sg = &bidrule.Surge{Demand: v, Margin: bidrule.ProbedMargin, Exact: !held}
		} else if j := k - Lag; j >= 0 && j < len(p.e.alloc) {
			a, d := float64(p.e.alloc[j][s][r]), sv.Demand[r][p.e.w.Warmup+j]
			switch {
			case !p.e.reading(s, r, p.e.w.Warmup+j).Pressed:
			case r == int(bidding.Memory):
				sg = &bidrule.Surge{Demand: memoryDemandFactor * a} // usage is held at the limit
			case p.probed(j, s):
				sg = &bidrule.Surge{Demand: d, Margin: bidrule.ProbedMargin, Exact: true}
			case !p.e.reading(s, r, p.e.w.Warmup+j-1).Pressed:
				// cpu held back one epoch, unprobed: the client floors the
				// bid only at the second epoch running (client/epoch.go)
			default:
				sg = &bidrule.Surge{Demand: math.Min(cpuStepFactor*a, float64(p.e.eff[sv.Node][r]))}
			}
		}
		surgeBid := sg
		// the simulated client lends (lend.go, tick.go), soon enough to
		// reserve less where its looks serve most of the epoch, and
		// borrows memory where the kernel model lets it (Kernel)
		lent := bidrule.Lent{Looks: bidrule.LooksServe(p.e.w.clientEpoch()), Memory: p.e.borrow}
		q := bidrule.ClientBid(bidding.Resource(r), sv.Def.Class, fq, p.opts.Deadband, lent, surgeBid)
		if !p.cfg.fair {
			// Workaround: bidding has no switch for fairness floors; a bid
			// without a median gets no floor (floors are a share of p50).
			q.P50 = 0
		}
		b.Resources[name] = q
		b.ForecastError[name] = fe
		p.tops[s][r] = bidTop{p90: fq.P90, top: float64(max(q.P99, q.Max))}
	}
	return b, nil
}

// observe runs the client's checks on epoch k: its SLA probe (when the
// scenario gives services probes) and the kernel's signals, through the
// client's gate; a boost holds from epoch k+Lag.
func (p *allotPolicy) observe(k int, served []float64) {
	if p.live != nil && p.liveErr == nil {
		p.liveErr = p.live.observe(k, p.sees)
	}
	if !p.cfg.boost {
		return
	}
	w := p.e.w
	for s, f := range served {
		sv := w.Svcs[s]
		var probe sla.Result
		if w.SLAProbes && f < slaServed {
			probe = sla.Result{Breach: true, Reason: "served below 90% of demand"}
		}
		var sig sla.Signals
		th := sla.DefaultThresholds()
		if sv.Has[bidding.CPU] {
			a := p.last[s][bidding.CPU]
			rd := read(int(bidding.CPU), sv.Demand[bidding.CPU][w.Warmup+k], float64(a))
			sig.CPULimit, sig.CPUUsage = a, int64(rd.Usage)
			if rd.Pressed && sv.Def.Class != bidding.ClassBatch {
				sig.ThrottledPeriods = 1
			}
		}
		if sla.ThrottledHard(sig, th) {
			p.throttled[s]++
		} else {
			p.throttled[s] = 0
		}
		sig.ThrottledRun = p.throttled[s]
		if sv.Has[bidding.Memory] && p.e.reading(s, int(bidding.Memory), w.Warmup+k).Pressed {
			sig.OOMKills, sig.MemFailcnt = 1, 1
		}
		breach, why := sla.Pressure(sig, th)
		b, ok := p.gate.Decide(sv.Def.Name, epochOf(k+1), probe, breach, why, nil)
		if !ok {
			continue
		}
		b.StartEpoch = epochOf(k + Lag)
		p.boosts = append(p.boosts, b)
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

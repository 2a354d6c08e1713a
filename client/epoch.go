package client

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/usage"
)

// replayBase is where a replayed series' grid starts (any fixed instant:
// only the spacing matters to the forecaster).
var replayBase = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// epoch runs once per newly committed plan p: measure what each service
// used while the previous plan was in force (epoch E−1), report it, feed it
// to the forecasters, and bid their forecast for epoch E+1 — one batched
// PUT /v1/bids for this node.
func (c *Client) epoch(ctx context.Context, p bidding.Plan) error {
	prev := c.prev
	c.prev = &p
	c.hist = nil // imported histories are read afresh, once per epoch, when a forecaster is created
	c.refreshSettings(ctx)
	now := c.now()
	at := p.Created
	if at.IsZero() {
		at = now
	}
	// The interval just sampled is exactly the previous epoch only when no
	// plan was missed in between.
	whole := prev != nil && p.Epoch == prev.Epoch+1
	svcs := c.snapshot()
	// A registration that failed (no server ready yet) is retried here, as
	// its log line promises; registered services are skipped.
	c.register(ctx, svcs)
	regs := c.regressors(ctx, svcs)
	rep := fsm.UsageReport{Node: c.cfg.Node, Epoch: p.Epoch - 1}
	var bids []bidding.Bid
	var errs []error
	capacity := nodeCapacity(p, c.cfg.Node)
	us := make([]usage.Usage, len(svcs))
	demand := make([]map[bidding.Resource]float64, len(svcs))
	var wants []probeWant
	// The limits in force while the interval was measured are the previous
	// plan's, with what its epoch step and looks lent on top (lend.go,
	// tick.go): the kernel's files already hold plan p's (enforced above),
	// whose enforcement replaced those lends, so from here c.lent holds what
	// is lent under p.
	inForce := map[string]bidding.Allocation{}
	if prev != nil {
		inForce = withLent(c.mine(*prev), c.lent)
	}
	c.lent = map[string]bidding.Vec{}
	replayed := make([]bool, len(svcs))
	for i, d := range svcs {
		us[i], replayed[i] = c.measure(d, now)
		if replayed[i] {
			whole = p.Epoch > 1
		}
		if a, ok := inForce[d.Def.Name]; ok && a.CPU > 0 && us[i].CPULimit > 0 {
			us[i].CPULimit = a.CPU
		}
		if c.cfg.Borrow {
			// the reservation: the cgroup's limit is the node's (0, not
			// known before a first plan: a kill then is not taken as demand)
			us[i].MemoryLimit = inForce[d.Def.Name].Memory
		}
		demand[i] = map[bidding.Resource]float64{}
		for _, r := range bidding.Resources() {
			if v, ok := Demand(r, us[i]); ok {
				if c := capacity[r]; c > 0 { // an upper bound: never more than the node has
					v = min(v, float64(c))
				}
				demand[i][r] = v
			}
		}
		// Lifting its limits can show what it wants — unless its usage is
		// replayed: no limit held that back (the demo's io can exceed its
		// allocation), and there is nothing to measure.
		// A service a look probed is probed again (probeable).
		looked := c.looked[d.Def.Name]
		if rs := probeable(us[i], inForce[d.Def.Name], looked); len(rs) > 0 && !replayed[i] {
			wants = append(wants, probeWant{d: d, res: rs, u: us[i], looked: len(looked) > 0})
		}
	}
	clear(c.looked)
	probes := c.probeDemand(ctx, p, wants)
	seen := make([]map[bidding.Resource]float64, len(svcs)) // what each was measured at, for lendRoom
	for i, d := range svcs {
		u := us[i]
		seen[i] = map[bidding.Resource]float64{}
		actual := map[string]int64{}
		bid := bidding.Bid{Service: d.Def.Name, Node: c.cfg.Node, Epoch: p.Epoch + 1,
			Resources: map[string]bidding.Quantiles{}, ForecastError: map[string]bidding.ForecastError{}}
		for _, r := range bidding.Resources() {
			if !u.Have[r] {
				continue
			}
			actual[r.String()] = int64(math.Round(math.Min(math.Max(u.Value[r], 0), float64(bidding.MaxQuantity))))
			// The forecaster observes the usage, or what a probe measured
			// (probedSurge). A pressed resource's usage is censored (the
			// limit, not the demand): it is not observed — the bid is
			// floored at the demand's upper bound instead — unless the
			// forecaster has nothing yet.
			observe := u.Value[r]
			censored := false
			var surge *bidrule.Surge
			if up, ok := demand[i][r]; ok {
				censored = true
				_, probed := probes[d.Def.Name][r] // a probe held there too is evidence enough
				last, before := c.cpuPressedAt[d.Def.Name]
				if r != bidding.CPU || probed || before && last+1 == p.Epoch {
					surge = &bidrule.Surge{Demand: up} // already an upper bound: no margin on top
				}
			}
			if c.partial[d.Def.Name] && surge == nil {
				// An instance started during the interval: its rate is
				// over part of it (a workload that waited, a replica
				// warming up); the forecast goes on without it.
				censored = true
			}
			if pr, ok := probes[d.Def.Name][r]; ok {
				if v, s, ok := probedSurge(r, pr, u.Value[r]); ok {
					observe, surge, censored = v, s, false
				}
			}
			// What lendRoom lends on: the measure, unless the kernel held it
			// back unprobed; replayed usage (the demo) is no limit's doing.
			if pr, ok := probes[d.Def.Name][r]; !replayed[i] && (!censored || ok) {
				seen[i][r] = max(observe, pr.value)
			}
			q, ok, err := c.forecast(ctx, d, r, observe, censored, surge, regs, at)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !ok {
				continue
			}
			bid.Resources[r.String()] = q
			if m, _, _ := c.fc.get(d.Def, r, 0, 0); m != nil {
				bid.ForecastError[r.String()] = bidrule.ForecastError(m.Metrics())
			}
		}
		if whole && p.Epoch > 1 && len(actual) > 0 {
			rep.Services = append(rep.Services, fsm.ServiceUsage{Service: d.Def.Name, Actual: actual})
		}
		if len(bid.Resources) > 0 {
			bids = append(bids, bid)
		}
	}
	clear(c.partial)
	// cpu pressed without a probe floors the bid only at its second epoch
	// running: a service whose bid is a calibrated p90–p99 reaches its
	// limit now and then (the top of its own distribution), and flooring
	// the next bid at the upper bound (up to 1.5 × the quota) every time
	// was slack, and shortfall for its neighbours on a full node
	// (docs/BENCHMARKS.md, "A single epoch at the cpu limit"). Memory
	// floors at once: there a miss is an OOM kill.
	clear(c.cpuPressedAt)
	for i, d := range svcs {
		if _, ok := demand[i][bidding.CPU]; ok {
			c.cpuPressedAt[d.Def.Name] = p.Epoch
		}
	}
	c.lendRoom(ctx, p, svcs, seen)
	if c.looks() { // the looks until the next step read from here (tick.go)
		for i, d := range svcs {
			if !replayed[i] {
				c.readLook(d, c.now())
			}
		}
	}
	c.boosts(ctx, p, svcs, us)
	c.replayStep++
	if len(rep.Services) > 0 {
		if err := c.api.PutUsage(ctx, rep); err != nil {
			errs = append(errs, err)
		}
	}
	if len(bids) > 0 {
		if _, err := c.api.PutBids(ctx, bids); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forecast observes one resource's demand (its usage, or more when the
// kernel held it back: pressed) and returns the bid's quantiles
// (ok false while the epoch length is not known yet).
func (c *Client) forecast(ctx context.Context, d discovered, r bidding.Resource, observe float64, censored bool, surge *bidrule.Surge, regs map[string][]fsm.RegressorPoint, at time.Time) (bidding.Quantiles, bool, error) {
	interval, t := c.settings.interval, at
	rp, replayed := d.rt.(Replayer)
	if replayed {
		interval = rp.Step()
	}
	if interval == 0 {
		return bidding.Quantiles{}, false, nil
	}
	// In compressed time (an imported history of 5-minute points replayed
	// one per few-second epoch, as `make live` does) an epoch stands for
	// the history's interval: the seasons are a day and a week of those.
	step := interval
	if !replayed && !c.fc.has(d.Def, r) {
		if h := c.importedHistory(ctx, d.Def.Name); h != nil && h.Interval() > interval+interval/100 {
			step = h.Interval()
		}
	}
	m, created, err := c.fc.get(d.Def, r, interval, step)
	if err != nil {
		return bidding.Quantiles{}, false, err
	}
	if replayed {
		hist := rp.History(d.Def.Name)[r]
		if created {
			for i, v := range hist {
				m.Observe(replayBase.Add(time.Duration(i)*interval), v)
			}
		}
		t = replayBase.Add(time.Duration(len(hist)+c.replayStep) * interval)
	} else if created {
		c.warm(ctx, m, d.Def.Name, r.String(), interval, t)
	}
	if regs != nil {
		if missing := feedRegressors(m, d.Def, regs); len(missing) > 0 {
			c.fc.warnMissing(d.Def.Name, missing)
		}
	}
	if _, err := m.Forecast(); !censored || err != nil {
		m.Observe(t, observe)
	}
	qs, err := m.Forecast()
	if err != nil || len(qs) == 0 {
		return bidding.Quantiles{}, false, nil
	}
	// cpu, io and net reserve less where looks lend the rest within
	// seconds of the epoch (bidrule.LooksServe); a replayed service (the
	// dev demo) is never looked at. Memory reserves less where it is
	// borrowed.
	lent := bidrule.Lent{Looks: c.looks() && !replayed && bidrule.LooksServe(c.settings.interval), Memory: c.cfg.Borrow}
	return bidrule.ClientBid(r, d.Def.Class, qs[len(qs)-1], c.settings.deadband, lent, surge), true, nil
}

// measure is one service's usage over the last interval: replayed, or the
// sum over its instances' cgroups and interfaces.
func (c *Client) measure(d discovered, now time.Time) (usage.Usage, bool) {
	if rp, ok := d.rt.(Replayer); ok {
		return rp.Replay(d.Def.Name, c.replayStep), true
	}
	var parts []usage.Usage
	var errs []error
	if c.cfg.Measure != nil {
		for _, in := range d.Instances {
			if in.Cgroup == "" && in.Interface == "" {
				continue
			}
			k := instanceKey(d.Def.Name, in)
			if !c.primed[k] {
				c.partial[d.Def.Name] = true
			}
			c.primed[k] = true
			u, err := c.cfg.Measure.ReadCgroup(k, in.Cgroup, in.Interface, now)
			if err != nil {
				errs = append(errs, err)
			}
			parts = append(parts, u)
		}
	}
	name := d.Def.Name
	err := errors.Join(errs...)
	switch {
	case err != nil && !c.failing[name]:
		c.log.Warn("reading usage", "service", name, "error", err)
		c.failing[name] = true
	case err != nil:
		c.log.Debug("reading usage", "service", name, "error", err)
	case c.failing[name]:
		c.log.Info("reading usage works again", "service", name)
		delete(c.failing, name)
	}
	return usage.Sum(parts...), false
}

// regressors fetches this epoch's regressor values for the local services
// (nil when none names any, or when the read failed: the forecasters keep
// what they were fed before).
func (c *Client) regressors(ctx context.Context, svcs []discovered) map[string][]fsm.RegressorPoint {
	defs := make([]bidding.Service, len(svcs))
	for i, d := range svcs {
		defs[i] = d.Def
	}
	names := regressorNames(defs)
	if len(names) == 0 {
		return nil
	}
	vals, err := c.api.Regressors(ctx, names)
	c.fc.warnRead(names, err)
	if err != nil {
		return nil
	}
	return vals
}

// refreshSettings reads the cluster's replicated settings: the deadband
// by which memory bids are padded, and the epoch length the forecasters
// are built with (read until known). On error the last ones stay.
func (c *Client) refreshSettings(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := c.api.Settings(cctx)
	if err != nil {
		c.log.Debug("keeping the last settings", "error", err)
		return
	}
	c.settings.deadband = st.Options.Deadband
	if c.settings.interval == 0 && st.EpochMS > 0 {
		c.settings.interval = time.Duration(st.EpochMS) * time.Millisecond
		c.log.Info("epoch length from the cluster's settings", "interval", c.settings.interval)
	}
}

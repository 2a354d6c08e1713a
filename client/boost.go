package client

import (
	"context"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/sla"
	"github.com/allot-dev/allot/usage"
)

// boosts is the automatic boost step of an epoch: each service's SLA probe
// (if its definition has one) and the kernel's pressure signals go through
// the gate (one boost per service per cooldown), and a breach becomes a
// PUT /v1/boost with its reason. Probes take time (a slow endpoint is the
// point), so the step runs beside the loop; an epoch whose previous step is
// still running skips it.
func (c *Client) boosts(ctx context.Context, p bidding.Plan, svcs []discovered, us []usage.Usage) {
	if !c.slaBusy.TryLock() {
		c.log.Debug("the previous epoch's SLA checks are still running; skipped", "epoch", p.Epoch)
		return
	}
	interval := c.settings.interval
	go func() {
		defer c.slaBusy.Unlock()
		var wg sync.WaitGroup
		for i, d := range svcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.checkSLA(ctx, p.Epoch, d, us[i], interval)
			}()
		}
		wg.Wait()
	}()
}

// checkSLA judges one service and submits its boost.
func (c *Client) checkSLA(ctx context.Context, epoch uint64, d discovered, u usage.Usage, interval time.Duration) {
	name := d.Def.Name
	var res sla.Result
	if pr := c.probe(name, d.Def.SLA); pr != nil {
		res = pr.Check(ctx)
		if res.Err != nil {
			c.log.Warn("SLA probe failed (not a breach)", "service", name, "error", res.Err)
		}
	}
	sig, th := signals(u, d.Def.Class), sla.DefaultThresholds()
	sig.ThrottledRun = c.throttledRun(name, sla.ThrottledHard(sig, th))
	breach, why := sla.Pressure(sig, th)
	b, ok := c.gate.Decide(name, epoch, res, breach, why, d.Def.SLA)
	if !ok {
		return
	}
	if interval == 0 {
		interval = time.Minute
	}
	req := api.BoostRequest{Factor: b.Factor, TTL: sla.TTL(b, interval).String(), Reason: b.Reason}
	if err := c.api.Boost(ctx, name, req); err != nil {
		c.log.Warn("submitting an automatic boost", "service", name, "reason", b.Reason, "error", err)
		c.gate.Forget(name) // let the next epoch try again
		return
	}
	c.log.Info("boosted", "service", name, "factor", b.Factor, "epochs", b.TTLEpochs, "reason", b.Reason)
}

// probe returns the service's SLA probe, built once per spec (nil: none,
// or a spec the probe refuses, warned once).
func (c *Client) probe(service string, spec *bidding.SLASpec) sla.Probe {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if spec == nil || spec.Probe == "" {
		delete(c.probes, service)
		return nil
	}
	if e, ok := c.probes[service]; ok && e.spec == *spec {
		return e.probe
	}
	pr, err := sla.NewProbe(*spec, c.probeHTTP)
	if err != nil {
		c.log.Warn("SLA probe not used", "service", service, "error", err)
	}
	c.probes[service] = probeEntry{spec: *spec, probe: pr}
	return pr
}

type probeEntry struct {
	spec  bidding.SLASpec
	probe sla.Probe
}

// throttledRun counts the epochs in a row service has been throttled hard
// (hard: this epoch was), for sla.Thresholds.ThrottledEpochs: one epoch at
// the limit is what the pressed bid answers; a boost is for a service still
// held there after that.
func (c *Client) throttledRun(service string, hard bool) int {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if c.throttled == nil {
		c.throttled = map[string]int{}
	}
	if !hard {
		delete(c.throttled, service)
		return 0
	}
	c.throttled[service]++
	return c.throttled[service]
}

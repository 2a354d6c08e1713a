package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
)

// A throttled service's usage shows only its limit, and its throttled time
// only that it wanted more, up to every CPU it can run on. When the node
// has room — CPU the plan in force leaves unallocated — the client finds
// out how much more: it lifts the service's CPU limit into that room for a
// short window, measures what the service then uses, and puts the plan's
// limit back. Nothing is taken from anyone (the room is unallocated), the
// window is short beside the epoch, and the measurement is a real demand,
// so the next bid asks for it and not for a guess.

// probeWindow is how long a demand probe lifts a limit: a second, or a
// fifth of the epoch when that is shorter.
func probeWindow(epoch time.Duration) time.Duration {
	w := time.Second
	if epoch > 0 && epoch/5 < w {
		w = epoch / 5
	}
	return w
}

// minProbeRoom is the least unallocated CPU (millicores) worth a probe.
const minProbeRoom = 100

// nodeCapacity is node's capacity as the plan says (zero when it does not).
func nodeCapacity(p bidding.Plan, node string) bidding.Vec {
	for _, n := range p.Nodes {
		if n.Node == node {
			return n.Capacity
		}
	}
	return bidding.Vec{}
}

// nodeRoom is the CPU the plan leaves unallocated on node (0 when the plan
// does not say the node's capacity).
func nodeRoom(p bidding.Plan, node string) int64 {
	capacity := nodeCapacity(p, node)[bidding.CPU]
	var used int64
	for _, a := range p.Allocations {
		if a.Node == node {
			used += a.CPU
		}
	}
	return max(capacity-used, 0)
}

// probeDemand lifts the CPU limit of the pressed services into the node's
// room (shared evenly), measures each for the window, restores the plan's
// limits and returns each one's measured usage (millicores) under the
// lifted limit. A service whose probe could not be made is left out.
func (c *Client) probeDemand(ctx context.Context, p bidding.Plan, pressed []discovered) map[string]float64 {
	room := nodeRoom(p, c.cfg.Node)
	if len(pressed) == 0 || room < minProbeRoom*int64(len(pressed)) || c.cfg.Measure == nil {
		return nil
	}
	share := room / int64(len(pressed))
	mine := map[string]bidding.Allocation{}
	for _, a := range enforce.Slice(p, c.cfg.Node) {
		mine[a.Service] = a
	}
	lifted := map[string]bidding.Allocation{}
	for _, d := range pressed {
		a, ok := mine[d.Def.Name]
		if !ok || a.CPU == 0 { // no limit in force: nothing to lift
			continue
		}
		up := a
		up.CPU = a.CPU + share
		if err := d.rt.Apply(ctx, []bidding.Allocation{up}); err != nil {
			c.log.Warn("demand probe: could not lift the cpu limit", "service", d.Def.Name, "error", err)
			continue
		}
		lifted[d.Def.Name] = a
	}
	if len(lifted) == 0 {
		return nil
	}
	// Measure over the window, starting once every limit is lifted.
	read := func(d discovered, now time.Time) (float64, bool) {
		var sum float64
		var have bool
		for _, in := range d.Instances {
			if in.Cgroup == "" {
				continue
			}
			u, err := c.cfg.Measure.ReadCgroup("probe\x00"+instanceKey(d.Def.Name, in), in.Cgroup, in.Interface, now)
			if err == nil && u.Have[bidding.CPU] {
				sum, have = sum+u.Value[bidding.CPU], true
			}
		}
		return sum, have
	}
	for _, d := range pressed {
		if _, ok := lifted[d.Def.Name]; ok {
			read(d, c.now())
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(probeWindow(c.settings.interval)):
	}
	out := map[string]float64{}
	for _, d := range pressed {
		if _, ok := lifted[d.Def.Name]; !ok {
			continue
		}
		if v, ok := read(d, c.now()); ok {
			out[d.Def.Name] = v
		}
	}
	// Put the plan's limits back (through the runtime: idempotent; a failure
	// is retried by re-applying the plan in force).
	var errs []error
	for _, d := range pressed {
		if a, ok := lifted[d.Def.Name]; ok {
			if err := d.rt.Apply(ctx, []bidding.Allocation{a}); err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", d.Def.Name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.log.Error("demand probe: restoring the plan's cpu limits failed; re-applying the plan", "error", err)
		if err := c.reapply(ctx, p); err != nil {
			c.log.Error("re-applying the plan after a demand probe", "error", err)
		}
	}
	for name, v := range out {
		c.log.Debug("demand probe", "service", name, "cpu_limit", lifted[name].CPU, "lifted_by", share, "measured", int64(v))
	}
	return out
}

package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
)

// A throttled service's usage shows only its limit, and its throttled time
// only that it wanted more, up to every CPU it can run on. When the node
// has room — CPU the plan in force leaves unallocated — the client finds
// out how much more: it lifts the service's CPU limit into that room for a
// short window, measures what the service then uses, and puts the plan's
// limit back. Nothing is taken from anyone (the room is unallocated), the
// window is short beside the epoch, and the measurement is a real demand,
// so the next bid asks for it and not for a guess.

// probeWindow is how long a demand probe measures (a second, or a quarter
// of the epoch when that is shorter); it first lets the service settle
// under the lifted limit for one and a half windows. A service held back catches up
// when let go (a backlog, a worker's debt), so what it uses at first is more
// than it wants; measured on this host, a 1.5-core load lifted from 100m to
// 1.9 cores used 1873, 1824, 1688, 1523, 1529m in successive 200 ms.
func probeWindow(epoch time.Duration) time.Duration {
	w := time.Second
	if epoch > 0 && epoch/4 < w {
		w = epoch / 4
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

// probed is what a demand probe measured of one service.
type probed struct {
	cpu  float64 // millicores used under the lifted limit
	held bool    // still throttled there: cpu is not its demand
}

// probeDemand lifts the CPU limit of the throttled services into the node's
// room (shared evenly, never above a service's max), lets them settle,
// measures each over the window, restores the plan's limits and returns
// what each used. A service whose probe could not be made is left out.
func (c *Client) probeDemand(ctx context.Context, p bidding.Plan, pressed []discovered) map[string]probed {
	room := nodeRoom(p, c.cfg.Node)
	if len(pressed) == 0 || room < minProbeRoom*int64(len(pressed)) || c.cfg.Measure == nil || c.cfg.Policy == baseline.Static {
		return nil
	}
	share := room / int64(len(pressed))
	mine := map[string]bidding.Allocation{}
	for _, a := range enforce.Slice(p, c.cfg.Node) {
		mine[a.Service] = a
	}
	lifted := map[string]bidding.Allocation{}
	var restore []discovered
	for _, d := range pressed {
		a, ok := mine[d.Def.Name]
		if !ok || a.CPU == 0 { // no limit in force: nothing to lift
			continue
		}
		up := a
		up.CPU = a.CPU + share
		if m := d.Def.Max[bidding.CPU]; m > 0 {
			up.CPU = min(up.CPU, m)
		}
		if up.CPU-a.CPU < minProbeRoom { // at its max already
			continue
		}
		restore = append(restore, d)
		if err := d.rt.Apply(ctx, []bidding.Allocation{up}); err != nil {
			c.log.Warn("demand probe: could not lift the cpu limit", "service", d.Def.Name, "error", err)
			continue
		}
		lifted[d.Def.Name] = a
	}
	defer c.restoreProbed(ctx, p, restore, mine)
	if len(lifted) == 0 {
		return nil
	}
	read := func(d discovered, now time.Time) (usage.Usage, bool) {
		var parts []usage.Usage
		for _, in := range d.Instances {
			if in.Cgroup == "" {
				continue
			}
			if u, err := c.cfg.Measure.ReadCgroup("probe\x00"+instanceKey(d.Def.Name, in), in.Cgroup, in.Interface, now); err == nil {
				parts = append(parts, u)
			}
		}
		u := usage.Sum(parts...)
		return u, u.Have[bidding.CPU]
	}
	w := probeWindow(c.settings.interval)
	for _, wait := range []time.Duration{w * 3 / 2, w} { // settle, then measure
		if wait == w {
			for _, d := range restore {
				if _, ok := lifted[d.Def.Name]; ok {
					read(d, c.now())
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	out := map[string]probed{}
	for _, d := range restore {
		if _, ok := lifted[d.Def.Name]; !ok {
			continue
		}
		if u, ok := read(d, c.now()); ok {
			held := u.HaveThrottled && u.ThrottledPeriods >= pressedThrottled
			out[d.Def.Name] = probed{cpu: u.Value[bidding.CPU], held: held}
			c.log.Debug("demand probe", "service", d.Def.Name, "cpu_limit", lifted[d.Def.Name].CPU, "lifted_to", lifted[d.Def.Name].CPU+share,
				"measured", int64(u.Value[bidding.CPU]), "throttled_periods", u.ThrottledPeriods, "held", held)
		}
	}
	return out
}

// restoreProbed puts the plan's limits back on the probed services, even
// when ctx has ended (an agent stopping mid-probe must not leave a lifted
// limit behind: the plan in force stays in force); a failure re-applies the
// whole plan.
func (c *Client) restoreProbed(ctx context.Context, p bidding.Plan, probed []discovered, mine map[string]bidding.Allocation) {
	if len(probed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var errs []error
	for _, d := range probed {
		if err := d.rt.Apply(ctx, []bidding.Allocation{mine[d.Def.Name]}); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", d.Def.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.log.Error("demand probe: restoring the plan's cpu limits failed; re-applying the plan", "error", err)
		if err := c.reapply(ctx, p); err != nil {
			c.log.Error("re-applying the plan after a demand probe", "error", err)
		}
	}
}

package enforce

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
	"github.com/hashicorp/go-hclog"
)

// hierarchy writes allocations into one cgroup version's files. rel is the
// service's cgroup relative to the hierarchy root ("allot/web").
type hierarchy interface {
	name() string
	// prepare creates the parent cgroup and makes the controllers usable
	// below it; it fails when the hierarchy cannot be written.
	prepare(parentRel string) error
	apply(rel string, a bidding.Allocation) error
	// create makes a service's cgroup in every hierarchy it is measured in,
	// writing no limit.
	create(rel string) error
	// ioOff says why io is not enforced ("" when it is).
	ioOff() string
	// memoryDir is rel's directory in the memory hierarchy.
	memoryDir(rel string) string
}

// CgroupConfig is what both cgroup versions need besides their mount points.
type CgroupConfig struct {
	Parent   string   // client.cgroup_parent, e.g. "/allot"
	Devices  []Device // block devices io limits apply to (none: io is not enforced)
	Resolver Resolver // where services live (nil: cgroup = service name)
	Borrow   Borrow   // memory borrowed above the allocation (zero: hard limits)
	Log      hclog.Logger
}

// Cgroup is the cgroup driver (v1 or v2). It only ever creates directories
// and writes limits; it removes nothing, and a service missing from a plan
// keeps the limits it had.
type Cgroup struct {
	h        hierarchy
	parent   string
	resolver Resolver
	log      hclog.Logger

	mu       sync.Mutex
	prepared bool
	ioWarned bool
}

func newCgroup(h hierarchy, cfg CgroupConfig) *Cgroup {
	if cfg.Resolver == nil {
		cfg.Resolver = Targets{}
	}
	return &Cgroup{h: h, parent: cfg.Parent, resolver: cfg.Resolver, log: cfg.Log.Named(h.name())}
}

// Name implements Driver.
func (c *Cgroup) Name() string { return c.h.name() }

// Prepare creates the parent cgroup and enables the controllers it needs.
// New calls it once: its failure is how "this hierarchy is not writable
// here" shows.
func (c *Cgroup) Prepare(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prepareLocked(ctx)
}

func (c *Cgroup) prepareLocked(ctx context.Context) error {
	if c.prepared {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	parentRel, err := cgroups.CleanRel("client.cgroup_parent", c.parent)
	if err != nil {
		return fmt.Errorf("%s: %w", c.h.name(), err)
	}
	if err := c.h.prepare(parentRel); err != nil {
		return fmt.Errorf("%s: preparing parent cgroup %s: %w", c.h.name(), c.parent, err)
	}
	c.prepared = true
	return nil
}

// Apply implements Driver: every allocated service's cgroup gets its limits.
// A service that fails does not stop the others; all errors come back
// joined, and the reconciler retries the whole (idempotent) plan.
func (c *Cgroup) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	placed, errs := place(ctx, c.resolver, allocs)
	return errors.Join(append(errs, c.applyPlaced(ctx, placed))...)
}

// Ensure creates the cgroups of services (resolved as for Apply) in every
// hierarchy they are measured in, writing no limit: a service defined on
// this node is measured, forecast and bid for before any plan gives it an
// allocation, and a plan only allocates what was bid for. Existing cgroups
// and their limits are left as they are.
func (c *Cgroup) Ensure(ctx context.Context, services []string) error {
	targets, rerr := c.resolver.Resolve(ctx, services)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.prepareLocked(ctx); err != nil {
		return err
	}
	var errs []error
	for _, name := range services {
		t, ok := targets[name]
		if !ok && rerr != nil {
			errs = append(errs, fmt.Errorf("service %s: its cgroup is unknown: %w", name, rerr))
			continue
		}
		rel, err := cgroups.CgroupRel(c.parent, name, t.Cgroup)
		if err == nil {
			err = c.h.create(rel)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: creating its cgroup: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// applyPlaced applies allocations already resolved to their targets.
func (c *Cgroup) applyPlaced(ctx context.Context, placed []placed) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.prepareLocked(ctx); err != nil {
		return err
	}
	var errs []error
	for _, p := range placed {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if p.IO > 0 && !c.ioWarned {
			if why := c.h.ioOff(); why != "" {
				c.log.Warn("io allocations are not enforced", "reason", why)
				c.ioWarned = true
			}
		}
		rel, err := cgroups.CgroupRel(c.parent, p.Service, p.target.Cgroup)
		if err == nil {
			err = c.h.apply(rel, p.Allocation)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", p.Service, err))
		}
	}
	return errors.Join(errs...)
}

// cpuPeriod is the CFS period written with every quota (100 ms, the kernel's default).
const cpuPeriod = 100000

// cpuQuota turns millicores into a CFS quota per cpuPeriod (µs); -1 is no
// limit (an allocation of 0 means the plan sets none here). The kernel
// refuses quotas under 1 ms, so the smallest limit is 10 millicores.
func cpuQuota(millicores int64) int64 {
	if millicores <= 0 {
		return -1
	}
	return max(millicores*cpuPeriod/1000, 1000)
}

// memoryHigh is the soft limit written below a hard memory limit: 95%, so
// the kernel reclaims (v2) or prefers the cgroup under pressure (v1) before
// anything hits the hard limit.
func memoryHigh(limit int64) int64 { return limit - limit/20 }

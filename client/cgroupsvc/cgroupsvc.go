// Package cgroupsvc is the runtime of services an operator defines in the
// agent's config (`service` blocks that name a `cgroup`): one instance per
// service, its cgroup under client.cgroup_parent, limits written by the
// kernel enforcement driver (package enforce). Whoever starts the service
// puts its processes into that cgroup, in every hierarchy (see README).
package cgroupsvc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/enforce"
	"github.com/hashicorp/go-hclog"
)

// Runtime manages the config's cgroup services.
type Runtime struct {
	services []workload.Service
	driver   enforce.Driver
	log      hclog.Logger

	mu      sync.Mutex
	ensured bool
}

// New returns the runtime of the service blocks that name a cgroup (the
// others are warned about once and left out: there is nothing to measure).
// driver writes the limits (cgroups and tc, or the dry run).
func New(parent string, defs []bidding.Service, driver enforce.Driver, log hclog.Logger) (*Runtime, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	r := &Runtime{driver: driver, log: log}
	var skipped []string
	for _, s := range defs {
		if s.Cgroup == "" {
			skipped = append(skipped, s.Name)
			continue
		}
		rel, err := cgroups.CgroupRel(parent, s.Name, s.Cgroup)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		}
		r.services = append(r.services, workload.Service{Def: s,
			Instances: []workload.Instance{{ID: rel, Name: s.Name, Cgroup: rel, Interface: s.Interface}}})
	}
	slices.SortFunc(r.services, func(a, b workload.Service) int { return strings.Compare(a.Def.Name, b.Def.Name) })
	if len(skipped) > 0 {
		log.Warn("services without a cgroup are not measured, forecast or bid for", "services", strings.Join(skipped, ","))
	}
	return r, nil
}

// Name implements workload.Runtime.
func (r *Runtime) Name() string { return "cgroup" }

// Len is the number of services it manages.
func (r *Runtime) Len() int { return len(r.services) }

// Discover implements workload.Runtime: the config's services, as
// configured. The first time (and until it works) it creates their cgroups
// with no limit, so they can be measured — and so bid for — before any
// plan allocates them (a plan allocates only what was bid for).
func (r *Runtime) Discover(ctx context.Context) ([]workload.Service, error) {
	r.ensure(ctx)
	return append([]workload.Service(nil), r.services...), nil
}

func (r *Runtime) ensure(ctx context.Context) {
	e, ok := r.driver.(enforce.Ensurer)
	if !ok || len(r.services) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ensured {
		return
	}
	names := make([]string, len(r.services))
	for i, s := range r.services {
		names[i] = s.Def.Name
	}
	if err := e.Ensure(ctx, names); err != nil {
		r.log.Warn("creating the services' cgroups; retried at the next discovery", "error", err)
		return
	}
	r.ensured = true
}

// Apply implements workload.Runtime through the kernel driver.
func (r *Runtime) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	if r.driver == nil {
		return nil
	}
	if err := r.driver.Apply(ctx, allocs); err != nil {
		return fmt.Errorf("applying limits to cgroup services: %w", err)
	}
	return nil
}

// Package cgroupsvc is the runtime of services an operator defines in the
// agent's config (`service` blocks that name a `cgroup`): one instance per
// service, its cgroup under client.cgroup_parent, limits written by the
// kernel enforcement driver (package enforce). Whoever starts the service
// puts its processes into that cgroup, in every hierarchy (see README).
package cgroupsvc

import (
	"context"
	"fmt"
	"strings"

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
}

// New returns the runtime of the service blocks that name a cgroup (the
// others are warned about once and left out: there is nothing to measure).
// driver writes the limits (cgroups and tc, or the dry run).
func New(parent string, defs []bidding.Service, driver enforce.Driver, log hclog.Logger) (*Runtime, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	r := &Runtime{driver: driver}
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
	if len(skipped) > 0 {
		log.Warn("services without a cgroup are not measured, forecast or bid for", "services", strings.Join(skipped, ","))
	}
	return r, nil
}

// Name implements workload.Runtime.
func (r *Runtime) Name() string { return "cgroup" }

// Len is the number of services it manages.
func (r *Runtime) Len() int { return len(r.services) }

// Discover implements workload.Runtime: the config's services, as configured.
func (r *Runtime) Discover(context.Context) ([]workload.Service, error) {
	return append([]workload.Service(nil), r.services...), nil
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

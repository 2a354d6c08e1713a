package enforce

import (
	"context"
	"fmt"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

// Target is where a service lives on this node (cgroups.Target: its cgroup
// under client.cgroup_parent, and the interface tc shapes).
type Target = cgroups.Target

// Resolver tells the kernel drivers where each allocated service lives. It
// returns a target for every name it knows; a name it does not return is
// not defined anywhere it can see and gets the defaults (cgroup = name, no
// shaping). An error means it could not find out: the names it left out are
// then skipped (and the apply fails, to be retried) rather than guessed.
type Resolver interface {
	Resolve(ctx context.Context, services []string) (map[string]Target, error)
}

// Targets is a fixed Resolver (tests, and callers that already know).
type Targets map[string]Target

// Resolve implements Resolver.
func (t Targets) Resolve(_ context.Context, services []string) (map[string]Target, error) {
	out := make(map[string]Target, len(services))
	for _, s := range services {
		if x, ok := t[s]; ok {
			out[s] = x
		}
	}
	return out, nil
}

type placed struct {
	bidding.Allocation
	target Target
}

// place resolves where each allocated service lives. Services the resolver
// could not answer for (it failed) are left out, with an error each.
func place(ctx context.Context, r Resolver, allocs []bidding.Allocation) ([]placed, []error) {
	names := make([]string, len(allocs))
	for i, a := range allocs {
		names[i] = a.Service
	}
	targets, rerr := r.Resolve(ctx, names)
	var out []placed
	var errs []error
	for _, a := range allocs {
		t, ok := targets[a.Service]
		if !ok && rerr != nil {
			errs = append(errs, fmt.Errorf("service %s: skipped, its cgroup and interface are unknown: %w", a.Service, rerr))
			continue
		}
		out = append(out, placed{Allocation: a, target: t})
	}
	return out, errs
}

// checkInterface rejects names the kernel would never accept (IFNAMSIZ is
// 16 with the NUL), so a typo is reported as such and not as "not found".
func checkInterface(name string) error {
	if len(name) == 0 || len(name) > 15 || name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n") {
		return fmt.Errorf("interface %q is not a valid network interface name (1-15 characters, no '/', ':' or spaces)", name)
	}
	return nil
}

package enforce

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/allot-dev/allot/bidding"
)

// Multi applies each allocation with several drivers in turn (cgroups,
// then tc). All of them run even when one fails; the errors come back
// joined, each prefixed with its driver's name. With a Resolver, services
// are resolved once per apply for all kernel drivers (a registry lookup
// each would fetch the service list twice).
type Multi struct {
	Drivers  []Driver
	Resolver Resolver
	close    func()
}

// placedApplier is a kernel driver that can apply allocations Multi has
// already resolved.
type placedApplier interface {
	applyPlaced(ctx context.Context, placed []placed) error
}

// Name implements Driver: the drivers' names joined with "+".
func (m *Multi) Name() string {
	names := make([]string, len(m.Drivers))
	for i, d := range m.Drivers {
		names[i] = d.Name()
	}
	return strings.Join(names, "+")
}

// Apply implements Driver.
func (m *Multi) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	var errs []error
	var resolved []placed
	if m.Resolver != nil {
		resolved, errs = place(ctx, m.Resolver, allocs)
	}
	for _, d := range m.Drivers {
		var err error
		if pa, ok := d.(placedApplier); ok && m.Resolver != nil {
			err = pa.applyPlaced(ctx, resolved)
		} else {
			err = d.Apply(ctx, allocs)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Close releases what New opened for the drivers (the netlink socket).
// Limits already written stay: they are the plan in force.
func (m *Multi) Close() error {
	if m.close != nil {
		m.close()
		m.close = nil
	}
	return nil
}

// Ensurer is a driver that can create services' cgroups before any plan
// limits them (Cgroup, and Multi when one of its drivers is).
type Ensurer interface {
	Ensure(ctx context.Context, services []string) error
}

// Ensure implements Ensurer with every driver that does.
func (m *Multi) Ensure(ctx context.Context, services []string) error {
	var errs []error
	for _, d := range m.Drivers {
		if e, ok := d.(Ensurer); ok {
			if err := e.Ensure(ctx, services); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

package enforce

import (
	"context"
	"fmt"
	"io"

	"github.com/allot-dev/allot/cgroups"
	"github.com/hashicorp/go-hclog"
)

// Options choose and configure the driver New builds.
type Options struct {
	Mode      string   // client.enforce: auto | cgroup-v1 | cgroup-v2 | none
	Parent    string   // client.cgroup_parent
	Devices   []Device // client.io_devices
	Resolver  Resolver // where each service lives
	Log       hclog.Logger
	DryRunOut io.Writer // where the dry run reports (mode none, or auto falling back)
	Mountinfo string    // default /proc/self/mountinfo
	Netlink   Netlink   // nil: a netlink socket in this process's network namespace
	Borrow    Borrow    // client.memory_borrow: memory borrowed above the allocation (zero: hard limits)
}

// New builds the driver for o.Mode, once, at agent start:
//
//   - none: the dry run.
//   - cgroup-v1, cgroup-v2: that hierarchy with tc, or an error naming what
//     is missing (not mounted, no cpu/memory controller, not writable, no
//     netlink): the operator asked for enforcement and does not get it.
//   - auto: v2 when a unified hierarchy offers cpu and memory, else v1; when
//     neither works or the hierarchy cannot be written (not root, a
//     read-only cgroupfs in a container), the dry run, with a warning.
//
// It creates the parent cgroup (that is the writability test). A returned
// *Multi holds a netlink socket: Close it when done.
func New(ctx context.Context, o Options) (Driver, error) {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.DryRunOut == nil {
		o.DryRunOut = io.Discard
	}
	if o.Mountinfo == "" {
		o.Mountinfo = "/proc/self/mountinfo"
	}
	log := o.Log.Named("enforce")
	dry := &DryRun{Out: o.DryRunOut}
	auto := o.Mode == "auto"
	fallback := func(why error) (Driver, error) {
		if !auto {
			return nil, fmt.Errorf("enforce = %q: %w", o.Mode, why)
		}
		log.Warn("no kernel enforcement possible here; allocations are only reported (set client.enforce = \"none\" to silence this)", "reason", why)
		return dry, nil
	}
	switch o.Mode {
	case "none":
		return dry, nil
	case "auto", "cgroup-v1", "cgroup-v2":
	default:
		return nil, fmt.Errorf("enforce mode %q: want auto, cgroup-v1, cgroup-v2 or none", o.Mode)
	}
	l, err := cgroups.DetectFile(o.Mountinfo)
	if err != nil {
		return fallback(err)
	}
	h, err := cgroups.Choose(o.Mode, l)
	if err != nil {
		return fallback(err)
	}
	cfg := CgroupConfig{Parent: o.Parent, Devices: o.Devices, Resolver: o.Resolver, Borrow: o.Borrow, Log: log}
	cg := NewCgroupV1(h.V1, cfg)
	if h.Version == 2 {
		cg = NewCgroupV2(h.V2, cfg)
	}
	if err := cg.Prepare(ctx); err != nil {
		return fallback(err)
	}
	m := &Multi{Drivers: []Driver{cg}, Resolver: o.Resolver}
	nl := o.Netlink
	if nl == nil {
		h, closeNL, err := openNetlink()
		if err != nil {
			if !auto {
				return nil, fmt.Errorf("enforce = %q: opening netlink for tc shaping: %w", o.Mode, err)
			}
			log.Warn("tc shaping is off: cannot open netlink", "error", err)
			return cg, nil
		}
		nl, m.close = h, closeNL
	}
	m.Drivers = append(m.Drivers, NewTC(nl, o.Resolver, log))
	log.Info("kernel enforcement", "driver", m.Name(), "parent", o.Parent, "v2", h.V2, "v1_cpu", h.V1.CPU, "v1_cpuacct", h.V1.CPUAcct, "v1_memory", h.V1.Memory, "io_devices", len(o.Devices))
	return m, nil
}

package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client"
	"github.com/allot-dev/allot/client/cgroupsvc"
	"github.com/allot-dev/allot/client/docker"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/demo"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
	"github.com/hashicorp/go-hclog"
)

// node is what a client agent runs beside the API: its runtimes, the
// enforcement driver of registry-only services, and how usage is read.
// It is built before anything binds, so a runtime the operator asked for
// and the host cannot give (an explicit cgroup mode, a Docker socket that
// does not answer) stops the agent there.
type node struct {
	runtimes []workload.Runtime
	fallback enforce.Driver
	measure  client.Measurer
	borrow   enforce.Borrow // how memory is enforced, for every runtime and the client
	closers  []func() error
}

func (n *node) close() {
	for _, c := range n.closers {
		_ = c()
	}
}

// buildNode picks the runtimes: the config's cgroup services (their limits
// written by the kernel driver, else reported), Docker containers with
// --docker, and in --dev without --docker the demo's trace replay.
func (a *Agent) buildNode(ctx context.Context) (*node, error) {
	cfg := a.cfg
	n := &node{borrow: a.borrow()}
	if cfg.Dev && !cfg.Docker {
		d, err := demo.New(a.out)
		if err != nil {
			return nil, fmt.Errorf("dev demo: %w", err)
		}
		n.runtimes = append(n.runtimes, d)
		return n, nil
	}
	devices, err := a.devices()
	if err != nil {
		return nil, err
	}
	if cfg.Docker {
		rt, err := docker.New(ctx, docker.Options{Socket: strings.TrimPrefix(cfg.DockerSocket, "unix://"), Node: cfg.NodeName, Log: a.log.Named("client"), Devices: devices, Borrow: n.borrow})
		if err != nil {
			return nil, err
		}
		n.closers = append(n.closers, func() error { rt.Close(); return nil })
		go func() {
			if err := rt.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("following Docker events stopped", "error", err)
			}
		}()
		n.runtimes = append(n.runtimes, rt)
	}
	var driver enforce.Driver = &enforce.DryRun{Out: a.out} // --dev --docker: only containers are limited for real
	if !cfg.Dev {
		if driver, err = a.driver(ctx, devices, n.borrow); err != nil {
			n.close()
			return nil, fmt.Errorf("enforcement: %w", err)
		}
		if c, ok := driver.(interface{ Close() error }); ok {
			n.closers = append(n.closers, c.Close)
		}
	}
	n.fallback = driver
	if n.borrow.On() && !cfg.Dev {
		n.closers = append(n.closers, a.startDecoy(ctx, driver))
	}
	cg, err := cgroupsvc.New(cfg.CgroupParent, cfg.Services, driver, a.log.Named("client"))
	if err != nil {
		n.close()
		return nil, fmt.Errorf("client services: %w", err)
	}
	if cg.Len() > 0 {
		n.runtimes = append(n.runtimes, cg)
	}
	if n.measure, err = a.measurer(); err != nil {
		a.log.Warn("cannot measure service usage: no bids will be sent", "error", err)
	}
	return n, nil
}

// devices parses client.io_devices.
func (a *Agent) devices() ([]enforce.Device, error) {
	var devices []enforce.Device
	for _, s := range a.cfg.IODevices {
		d, err := enforce.ParseDevice(s)
		if err != nil {
			return nil, fmt.Errorf("client.io_devices: %w", err)
		}
		devices = append(devices, d)
	}
	return devices, nil
}

// measurer reads usage from the host's cgroup hierarchies (or the tests'
// fake tree).
func (a *Agent) measurer() (client.Measurer, error) {
	ucfg := a.usageCfg
	if ucfg == nil {
		c, err := usage.Detect(a.cfg.Enforce, "")
		if err != nil {
			return nil, err
		}
		ucfg = &c
	}
	c := *ucfg
	c.Parent = "" // instances name their cgroup from the hierarchy root
	return usage.New(c), nil
}

// startDecoy keeps the OOM decoy (enforce.Decoy) running, in the
// enforcement driver's memory domain where it has one, until ctx ends or
// the returned closer stops it and removes its cgroup.
func (a *Agent) startDecoy(ctx context.Context, driver enforce.Driver) (closer func() error) {
	log := a.log.Named("client")
	if len(a.decoy) == 0 {
		log.Warn("no OOM decoy: this agent was not told how to start one; a second OOM kill may take a service within its reservation")
		return func() error { return nil }
	}
	argv := slices.Clone(a.decoy) // its --memory defaults to enforce.DecoyMemory
	var join []string
	if dc, ok := driver.(enforce.Decoyer); ok {
		var err error
		join, err = dc.DecoyCgroup(ctx)
		if err != nil {
			log.Warn("the OOM decoy runs in the agent's cgroup: its own could not be made", "error", err)
		}
		for _, f := range join {
			argv = append(argv, "--join", f)
		}
	}
	d := &enforce.Decoy{Argv: argv, Log: log.Named("oom-decoy"), Killed: a.metrics.DecoyKilled}
	log.Info("OOM decoy started: a second OOM kill takes it, not a service within its reservation", "command", strings.Join(argv, " "))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
		for _, f := range join { // its cgroup, empty now
			if err := os.Remove(filepath.Dir(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				log.Warn("the OOM decoy's cgroup is left behind", "error", err)
			}
		}
	}()
	return func() error { cancel(); <-done; return nil }
}

// borrow is how memory is enforced (client.memory_borrow): allocations as
// reservations under the node's memory where asked, except under the
// static policy, whose limits are hand-sized hard limits.
func (a *Agent) borrow() enforce.Borrow {
	if !a.cfg.MemoryBorrow || a.cfg.ClientPolicy == baseline.Static {
		return enforce.Borrow{}
	}
	return enforce.Borrow{Domain: Capacity(a.cfg)[bidding.Memory]}
}

// runClient runs the node client until ctx ends.
func (a *Agent) runClient(ctx context.Context, n *node) {
	cl, err := client.New(client.Config{Node: a.cfg.NodeName, API: a.localAPI(), Runtimes: n.runtimes,
		Fallback: n.fallback, Measure: n.measure, DataDir: a.cfg.DataDir, Log: a.log.Named("client"), Policy: a.cfg.ClientPolicy, NoLend: a.cfg.NoLend, Borrow: n.borrow.On()})
	if err != nil {
		a.log.Error("node client not started", "error", err)
		return
	}
	if err := cl.Run(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("node client stopped", "error", err)
	}
}

// driver builds the enforcement driver for client.enforce, once, before
// the agent binds anything: "none" reports only; auto falls back to
// reporting (with a warning) where the kernel cannot be written; an explicit
// cgroup-v1/cgroup-v2 that cannot be used is an error that stops the agent.
// Where each service lives comes from this agent's service blocks, else from
// the registry through the local API (see enforce.Book).
func (a *Agent) driver(ctx context.Context, devices []enforce.Device, borrow enforce.Borrow) (enforce.Driver, error) {
	out := a.log.Named("enforce").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
	if a.cfg.Enforce == "none" {
		return &enforce.DryRun{Out: out}, nil
	}
	local := map[string]enforce.Target{}
	for _, s := range a.cfg.Services {
		local[s.Name] = enforce.Target{Cgroup: s.Cgroup, Interface: s.Interface}
	}
	book := enforce.NewBook(local, a.registryTargets, a.cfg.DataDir, a.log)
	return enforce.New(ctx, enforce.Options{Mode: a.cfg.Enforce, Parent: a.cfg.CgroupParent, Devices: devices,
		Resolver: book, Log: a.log, DryRunOut: out, Borrow: borrow})
}

// registryTargets reads every registered service's cgroup and interface
// through the local API (a client-only agent forwards to a server).
func (a *Agent) registryTargets(ctx context.Context) (map[string]enforce.Target, error) {
	if a.HTTPAddr() == "" {
		return nil, fmt.Errorf("the HTTP API is not bound yet")
	}
	svcs, err := a.localAPI().Services(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]enforce.Target, len(svcs))
	for _, s := range svcs {
		out[s.Name] = enforce.Target{Cgroup: s.Cgroup, Interface: s.Interface}
	}
	return out, nil
}

// Package client is the node side of Allot: one plan watcher driving, per
// committed plan, enforce → measure → forecast → bid → report, over the
// workload runtimes that find this node's services (cgroup services,
// Docker containers, the dev demo's trace replay). The agent only wires it.
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/client/sla"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/usage"
	"github.com/hashicorp/go-hclog"
)

// API is what the client calls on the cluster (api.Client implements it).
type API interface {
	WatchNodePlan(ctx context.Context, node string, index uint64, wait time.Duration) (bidding.Plan, error)
	PutBids(ctx context.Context, bids []bidding.Bid) (uint64, error)
	PutUsage(ctx context.Context, rep fsm.UsageReport) error
	Settings(ctx context.Context) (fsm.Settings, error)
	Regressors(ctx context.Context, names []string) (map[string][]fsm.RegressorPoint, error)
	Service(ctx context.Context, name string) (api.ServiceView, error)
	RegisterService(ctx context.Context, s bidding.Service) error
	Boost(ctx context.Context, service string, b api.BoostRequest) error
	UsageHistory(ctx context.Context, service, node string) (api.UsageHistory, error)
}

// Measurer reads one instance's usage from its cgroup and interface
// (usage.Reader implements it). key names the instance's counters.
type Measurer interface {
	ReadCgroup(key, rel, iface string, now time.Time) (usage.Usage, error)
}

// Replayer is a runtime whose usage is replayed, not measured (the dev
// demo): its services have a history to warm the forecasters with and one
// value per epoch, on a grid of Step (the trace's interval), not the epoch.
type Replayer interface {
	// History is what precedes step 0 per resource, on a grid of Step().
	History(service string) map[bidding.Resource][]float64
	// Replay is the usage of a service at replay step n (0, 1, …).
	Replay(service string, n int) usage.Usage
	// Step is the interval of the replayed series.
	Step() time.Duration
}

// Announcer is a runtime that says which plan it just enforced (the dev
// demo prints a header before the dry run's lines).
type Announcer interface {
	Announce(p bidding.Plan)
}

// Config wires a Client.
type Config struct {
	Node     string
	API      API
	Runtimes []workload.Runtime
	// Fallback enforces allocations of services no runtime discovered
	// (services defined only in the registry); nil: they are ignored.
	Fallback enforce.Driver
	Measure  Measurer
	DataDir  string // the last applied plan is kept under DataDir/client ("" = memory only)
	Log      hclog.Logger
	Now      func() time.Time
	// Wait is how long one blocking plan query waits (default 60 s).
	Wait time.Duration
	// Policy is what the runtimes enforce: baseline.Allot (default, the
	// plan) or baseline.Static (policy.go).
	Policy string
	// NoLend: enforce the plan's limits only, never lend the node's
	// unallocated room (lend.go; client.lend_room = false).
	NoLend bool
	// Borrow: the kernel drivers enforce memory allocations as
	// reservations under the node's memory (enforce.Borrow), so a memory
	// limit read from a cgroup is the node's and the reservation is what a
	// kill is measured against (Demand).
	Borrow bool
}

// Client runs one node's loop. Build it with New, run it with Run.
type Client struct {
	cfg Config
	api API
	log hclog.Logger
	now func() time.Time
	rec *enforce.Reconciler

	mu       sync.Mutex // guards discovered, owner and gone (read by the enforcement driver)
	services []discovered
	owner    map[string]workload.Runtime
	// gone are services a runtime managed here and no longer finds (their
	// containers stopped): their allocation stays in plans until their bid
	// expires, and must not reach the fallback driver (which would create
	// a cgroup for a container that no longer exists).
	gone map[string]bool
	// capacity is this node's capacity in the plan being enforced, and
	// static the static policy's levels per service (policy.go).
	capacity bidding.Vec
	static   map[string]*staticLevels

	registered map[string]bool
	primed     map[string]bool // instance keys whose counters were read once
	// partial are services with an instance first read since the last
	// epoch step: their interval covers only part of it (the instance
	// started during the epoch), so it is reported but not observed.
	partial    map[string]bool
	failing    map[string]bool // services whose last read failed (warned once)
	fc         *forecasters
	hist       histories // imported usage histories read this epoch (history.go)
	settings   settings
	prev       *bidding.Plan // the last plan the epoch step ran for
	bidIndex   uint64
	replayStep int // epochs handled for replayed services
	// cpuPressedAt: the plan whose interval found each service held back
	// on cpu (the last epoch step's only; epoch.go)
	cpuPressedAt map[string]uint64
	// lent: what the last epoch step and the looks since lent each service
	// on top of its plan (lend.go, tick.go), in force until the next plan
	// is enforced
	lent   map[string]bidding.Vec
	bursts map[string]*[bidding.NumResources]bidrule.Burst // whether each service's jumps last (lend.go)
	// looked: the resources of each service the looks since the last
	// epoch step probed (tick.go); the next step probes them again.
	looked map[string][]bidding.Resource

	gate      *sla.Gate
	slaBusy   sync.Mutex // held while an epoch's SLA checks run
	probeMu   sync.Mutex // guards probes and throttled
	probes    map[string]probeEntry
	throttled map[string]int // epochs in a row each service was throttled hard (boost.go)
	probeHTTP *http.Client
}

type discovered struct {
	workload.Service
	rt workload.Runtime
}

type settings struct {
	deadband float64
	interval time.Duration // epoch length (0 until read)
}

// New builds a client. Nothing runs until Run.
func New(cfg Config) (*Client, error) {
	if cfg.API == nil {
		return nil, errors.New("client: no API")
	}
	if cfg.Node == "" {
		return nil, errors.New("client: no node name")
	}
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wait == 0 {
		cfg.Wait = 60 * time.Second
	}
	if cfg.Policy == "" {
		cfg.Policy = baseline.Allot
	}
	if !slices.Contains(baseline.Policies(), cfg.Policy) {
		return nil, fmt.Errorf("client: policy %q: allowed: %s", cfg.Policy, strings.Join(baseline.Policies(), ", "))
	}
	c := &Client{cfg: cfg, api: cfg.API, log: cfg.Log, now: cfg.Now, owner: map[string]workload.Runtime{}, gone: map[string]bool{},
		registered: map[string]bool{}, primed: map[string]bool{}, failing: map[string]bool{}, static: map[string]*staticLevels{}, partial: map[string]bool{},
		cpuPressedAt: map[string]uint64{}, lent: map[string]bidding.Vec{}, bursts: map[string]*[bidding.NumResources]bidrule.Burst{},
		looked:   map[string][]bidding.Resource{},
		settings: settings{deadband: bidding.DefaultOptions().Deadband}}
	c.fc = newForecasters(c.log)
	c.gate, c.probes, c.probeHTTP = sla.NewGate(), map[string]probeEntry{}, sla.NewClient()
	c.rec = enforce.NewReconciler(cfg.Node, &runtimeDriver{c: c}, cfg.DataDir, cfg.Log)
	return c, nil
}

// Current is the plan in force on this node (nil before the first).
func (c *Client) Current() *bidding.Plan { return c.rec.Current() }

// Run re-applies the plan persisted before a restart, then follows
// committed plans until ctx ends. While no server answers, the last plan
// stays in force (fail-static).
func (c *Client) Run(ctx context.Context) error {
	defer func() { c.slaBusy.Lock(); c.slaBusy.Unlock() }() // an epoch's SLA checks end with ctx
	changes := make(chan struct{}, 1)
	for _, rt := range c.cfg.Runtimes {
		if w, ok := rt.(workload.Watcher); ok {
			go forward(ctx, w.Changes(), changes)
		}
	}
	c.discover(ctx)
	if err := c.rec.Restore(ctx); err != nil {
		c.log.Warn("could not restore the persisted plan", "error", err)
	}
	plans := make(chan bidding.Plan, 1)
	go c.watch(ctx, c.rec.Current(), plans)

	retry := newBackoff(time.Second, 30*time.Second)
	var retryC <-chan time.Time
	var lookC <-chan time.Time // the next look between epoch steps (tick.go)
	var pending *bidding.Plan  // a plan whose enforcement failed, to retry
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			c.discover(ctx)
			if p := c.rec.Current(); p != nil && pending == nil {
				// New replicas get their share of the plan in force now.
				if err := c.reapply(ctx, *p); err != nil {
					c.log.Warn("re-applying the plan after a workload change", "error", err)
				}
			}
		case p := <-plans:
			select { // a workload change that arrived with the plan goes first
			case <-changes:
				c.discover(ctx)
			default:
			}
			pending = nil
			if err := c.enforce(ctx, p); err != nil {
				pending = &p
				d := retry.NextBackOff()
				c.log.Warn("enforcing plan failed; retrying", "epoch", p.Epoch, "retry_in", d, "error", err)
				retryC = time.After(d)
			} else {
				retry.Reset()
				retryC = nil
			}
			if p.Index > c.bidIndex {
				c.bidIndex = p.Index
				if err := c.epoch(ctx, p); err != nil && ctx.Err() == nil {
					c.log.Warn("measuring or bidding failed; the next epoch tries again", "epoch", p.Epoch+1, "error", err)
				}
				lookC = c.nextLook()
			}
		case <-lookC:
			if pending == nil { // else the kernel holds an older plan than the step ran for: no look
				c.look(ctx)
			}
			lookC = c.nextLook()
		case <-retryC:
			retryC = nil
			if pending == nil {
				continue
			}
			p := *pending
			if err := c.enforce(ctx, p); err != nil {
				d := retry.NextBackOff()
				c.log.Warn("enforcing plan failed; retrying", "epoch", p.Epoch, "retry_in", d, "error", err)
				retryC = time.After(d)
				continue
			}
			pending = nil
			retry.Reset()
		}
	}
}

// forward relays a runtime's change signals into the client's channel.
func forward(ctx context.Context, in <-chan struct{}, out chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}
}

// enforce applies p through the runtimes if it is newer than the plan in force.
func (c *Client) enforce(ctx context.Context, p bidding.Plan) error {
	if cur := c.rec.Current(); cur == nil || p.Index > cur.Index {
		for _, rt := range c.cfg.Runtimes {
			if an, ok := rt.(Announcer); ok {
				an.Announce(p)
			}
		}
	}
	c.mu.Lock()
	c.capacity = nodeCapacity(p, c.cfg.Node)
	c.mu.Unlock()
	applied, err := c.rec.Apply(ctx, p)
	if err != nil {
		return err
	}
	if applied {
		c.log.Debug("enforced plan", "epoch", p.Epoch, "index", p.Index)
	}
	return nil
}

// reapply enforces the plan in force again (after a workload change): its
// limits replace what was lent.
func (c *Client) reapply(ctx context.Context, p bidding.Plan) error {
	clear(c.lent)
	d := &runtimeDriver{c: c}
	if err := d.Apply(ctx, enforce.Slice(p, c.cfg.Node)); err != nil {
		return fmt.Errorf("re-applying epoch %d: %w", p.Epoch, err)
	}
	return nil
}

// discover asks every runtime for its services, registers new ones and
// primes the counters of new instances (so the next epoch has a rate).
func (c *Client) discover(ctx context.Context) {
	var all []discovered
	owner := map[string]workload.Runtime{}
	for _, rt := range c.cfg.Runtimes {
		svcs, err := rt.Discover(ctx)
		if err != nil {
			c.log.Warn("discovering services", "runtime", rt.Name(), "error", err)
			// keep what this runtime had before
			c.mu.Lock()
			for _, d := range c.services {
				if d.rt == rt {
					all = append(all, d)
					owner[d.Def.Name] = rt
				}
			}
			c.mu.Unlock()
			continue
		}
		for _, s := range svcs {
			if o, dup := owner[s.Def.Name]; dup {
				c.log.Warn("service found by two runtimes; the first one manages it", "service", s.Def.Name, "runtimes", o.Name()+","+rt.Name())
				continue
			}
			owner[s.Def.Name] = rt
			all = append(all, discovered{Service: s, rt: rt})
		}
	}
	slices.SortFunc(all, func(a, b discovered) int { return strings.Compare(a.Def.Name, b.Def.Name) })
	c.mu.Lock()
	old := map[string]bool{}
	for _, d := range c.services {
		old[d.Def.Name] = true
	}
	for name := range old {
		if _, ok := owner[name]; !ok {
			c.gone[name] = true
		}
	}
	for name := range owner {
		delete(c.gone, name)
	}
	c.services, c.owner = all, owner
	c.mu.Unlock()
	for _, d := range all {
		if !old[d.Def.Name] {
			c.log.Info("managing service", "service", d.Def.Name, "runtime", d.rt.Name(), "instances", len(d.Instances))
		}
	}
	for name := range old {
		if _, ok := owner[name]; !ok {
			c.log.Info("service gone from this node; no longer bid for", "service", name)
			c.fc.forget(name)
			delete(c.bursts, name)
		}
	}
	c.prime(all)
	c.register(ctx, all)
}

// prime reads each new instance's counters once, so the first epoch after
// it appeared already has a rate.
func (c *Client) prime(all []discovered) {
	if c.cfg.Measure == nil {
		return
	}
	now := c.now()
	for _, d := range all {
		for _, in := range d.Instances {
			k := instanceKey(d.Def.Name, in)
			if in.Cgroup == "" && in.Interface == "" || c.primed[k] {
				continue
			}
			_, _ = c.cfg.Measure.ReadCgroup(k, in.Cgroup, in.Interface, now)
			c.primed[k] = true
			c.partial[d.Def.Name] = true
		}
	}
}

func instanceKey(service string, in workload.Instance) string { return service + "\x00" + in.ID }

// register puts each discovered service into the registry if it is not
// there yet (as a Consul agent registers its services); an existing
// registration (an operator's) is left alone.
func (c *Client) register(ctx context.Context, all []discovered) {
	for _, d := range all {
		name := d.Def.Name
		if c.registered[name] {
			continue
		}
		_, err := c.api.Service(ctx, name)
		if api.IsNotFound(err) {
			err = c.api.RegisterService(ctx, d.Def)
			switch {
			case err == nil:
				c.log.Info("registered local service", "service", name)
			case api.IsForbidden(err):
				c.log.Warn("cannot register local service: the agent token may not (register it as an operator)", "service", name, "error", err)
				c.registered[name] = true // do not ask again every epoch
				continue
			}
		}
		if err != nil {
			c.log.Debug("registering local service; retried next epoch", "service", name, "error", err)
			continue
		}
		c.registered[name] = true
	}
}

// snapshot is the discovered services as of now.
func (c *Client) snapshot() []discovered {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]discovered(nil), c.services...)
}

// runtimeDriver is the enforcement driver behind the Reconciler: it hands
// each runtime the allocations of the services it discovered, and the rest
// to the fallback driver.
type runtimeDriver struct{ c *Client }

func (d *runtimeDriver) Name() string { return "runtimes" }

func (d *runtimeDriver) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	c := d.c
	if c.cfg.Policy == baseline.Static {
		allocs = c.staticAllocs(ctx, allocs)
	}
	c.mu.Lock()
	by := map[workload.Runtime][]bidding.Allocation{}
	var rest []bidding.Allocation
	for _, a := range allocs {
		if rt, ok := c.owner[a.Service]; ok {
			by[rt] = append(by[rt], a)
		} else if !c.gone[a.Service] {
			rest = append(rest, a)
		}
	}
	c.mu.Unlock()
	var errs []error
	for _, rt := range c.cfg.Runtimes {
		if len(by[rt]) == 0 {
			continue
		}
		if err := rt.Apply(ctx, by[rt]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rt.Name(), err))
		}
	}
	if len(rest) > 0 && c.cfg.Fallback != nil {
		if err := c.cfg.Fallback.Apply(ctx, rest); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.cfg.Fallback.Name(), err))
		}
	}
	return errors.Join(errs...)
}

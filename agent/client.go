package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/hashicorp/go-hclog"
)

// clientLoop enforces committed plans on this node: it re-applies the plan
// persisted before a restart, then follows new plans with blocking queries
// against the local API (which forwards to a server on a client-only
// agent). While no server answers, the last plan stays in force.
func (a *Agent) clientLoop(ctx context.Context, driver enforce.Driver) {
	rec := enforce.NewReconciler(a.cfg.NodeName, driver, a.cfg.DataDir, a.log)
	if err := rec.Restore(ctx); err != nil {
		a.log.Warn("could not restore the persisted plan", "error", err)
	}
	c := a.localAPI() // HTTPS with the agent's certificate when TLS is on; the agent's ACL token
	var index uint64
	if p := rec.Current(); p != nil {
		index = p.Index
	}
	backoff := 500 * time.Millisecond
	retry := time.Second // after a failed apply (the same plan comes back at once)
	for ctx.Err() == nil {
		var p bidding.Plan
		_, err := c.Do(ctx, "GET", fmt.Sprintf("/v1/plan?index=%d&wait=60s", index), nil, &p)
		if err != nil {
			var ae *api.Error
			if ctx.Err() != nil {
				return
			}
			if !(errors.As(err, &ae) && ae.Code == 404) {
				a.log.Debug("plan watch failed; keeping the last plan in force", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 500 * time.Millisecond
		if p.Index <= index {
			continue
		}
		applied, err := rec.Apply(ctx, p)
		if err != nil {
			// Not recorded as applied: the watch returns this plan (or a
			// newer one) again at once, so wait before retrying.
			a.log.Error("enforcing plan failed; retrying", "epoch", p.Epoch, "retry_in", retry, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(retry*2, 30*time.Second)
			continue
		}
		retry = time.Second
		if applied {
			index = p.Index
			a.log.Debug("enforced plan", "epoch", p.Epoch, "index", p.Index, "driver", driver.Name())
		}
	}
}

// driver builds the enforcement driver for client.enforce, once, before
// the agent binds anything: "none" reports only; auto falls back to
// reporting (with a warning) where the kernel cannot be written; an explicit
// cgroup-v1/cgroup-v2 that cannot be used is an error that stops the agent.
// Where each service lives comes from this agent's service blocks, else from
// the registry through the local API (see enforce.Book).
func (a *Agent) driver(ctx context.Context) (enforce.Driver, error) {
	out := a.log.Named("enforce").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
	if a.cfg.Enforce == "none" {
		return &enforce.DryRun{Out: out}, nil
	}
	var devices []enforce.Device
	for _, s := range a.cfg.IODevices {
		d, err := enforce.ParseDevice(s)
		if err != nil {
			return nil, fmt.Errorf("client.io_devices: %w", err)
		}
		devices = append(devices, d)
	}
	local := map[string]enforce.Target{}
	for _, s := range a.cfg.Services {
		local[s.Name] = enforce.Target{Cgroup: s.Cgroup, Interface: s.Interface}
	}
	book := enforce.NewBook(local, a.registryTargets, a.cfg.DataDir, a.log)
	return enforce.New(ctx, enforce.Options{Mode: a.cfg.Enforce, Parent: a.cfg.CgroupParent, Devices: devices,
		Resolver: book, Log: a.log, DryRunOut: out})
}

// registryTargets reads every registered service's cgroup and interface
// through the local API (a client-only agent forwards to a server).
func (a *Agent) registryTargets(ctx context.Context) (map[string]enforce.Target, error) {
	addr := a.HTTPAddr()
	if addr == "" {
		return nil, errors.New("the HTTP API is not bound yet")
	}
	var svcs []api.ServiceView
	if _, err := a.localAPI().Do(ctx, "GET", "/v1/services", nil, &svcs); err != nil {
		return nil, fmt.Errorf("GET /v1/services: %w", err)
	}
	out := make(map[string]enforce.Target, len(svcs))
	for _, s := range svcs {
		out[s.Name] = enforce.Target{Cgroup: s.Cgroup, Interface: s.Interface}
	}
	return out, nil
}

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
func (a *Agent) clientLoop(ctx context.Context) {
	driver := a.driver()
	rec := enforce.NewReconciler(a.cfg.NodeName, driver, a.cfg.DataDir, a.log)
	if err := rec.Restore(ctx); err != nil {
		a.log.Warn("could not restore the persisted plan", "error", err)
	}
	c := api.NewClient(a.HTTPAddr(), "")
	var index uint64
	if p := rec.Current(); p != nil {
		index = p.Index
	}
	backoff := 500 * time.Millisecond
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
			a.log.Error("enforcing plan", "epoch", p.Epoch, "error", err)
			continue
		}
		if applied {
			index = p.Index
			a.log.Debug("enforced plan", "epoch", p.Epoch, "index", p.Index, "driver", driver.Name())
		}
	}
}

// driver picks the enforcement driver. Kernel drivers (cgroup v1/v2, tc)
// are not part of this build yet: every mode reports what it would apply.
func (a *Agent) driver() enforce.Driver {
	if a.cfg.Enforce != "none" {
		a.log.Warn("no kernel enforcement driver in this build; reporting allocations only", "enforce", a.cfg.Enforce)
	}
	return &enforce.DryRun{Out: a.log.Named("enforce").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})}
}

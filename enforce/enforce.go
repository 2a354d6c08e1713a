// Package enforce makes a node match its slice of the committed plan. A
// Driver applies allocations (cgroups, tc, or a dry run that only reports);
// the Reconciler takes committed plans in index order, keeps the last one on
// disk, and re-applies it after a restart or while servers are unreachable
// (fail-static). It never decides what an allocation is.
package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-hclog"
)

// Driver applies one node's allocations.
type Driver interface {
	Name() string
	Apply(ctx context.Context, allocs []bidding.Allocation) error
}

// DryRun reports what it would apply and touches nothing (--enforce none, --dev).
type DryRun struct {
	Out io.Writer
	mu  sync.Mutex
}

// Name implements Driver.
func (d *DryRun) Name() string { return "none" }

// Apply implements Driver.
func (d *DryRun) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range allocs {
		if _, err := fmt.Fprintf(d.Out, "  enforce (dry run) %-8s cpu=%dm memory=%dB io=%dB/s net=%.1fMbit\n", a.Service, a.CPU, a.Memory, a.IO, float64(a.Net)/1e6); err != nil {
			return fmt.Errorf("dry run: %w", err)
		}
	}
	return nil
}

// Reconciler applies committed plans for one node.
type Reconciler struct {
	node   string
	driver Driver
	path   string // where the last applied plan is kept ("" = memory only)
	log    hclog.Logger

	mu    sync.Mutex
	index uint64
	plan  *bidding.Plan
}

// NewReconciler returns a reconciler for node that persists under dataDir.
func NewReconciler(node string, d Driver, dataDir string, log hclog.Logger) *Reconciler {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	r := &Reconciler{node: node, driver: d, log: log.Named("enforce")}
	if dataDir != "" {
		r.path = filepath.Join(dataDir, "client", "plan.json")
	}
	return r
}

// Restore loads the persisted plan and applies it again (after a restart).
func (r *Reconciler) Restore(ctx context.Context) error {
	if r.path == "" {
		return nil
	}
	b, err := os.ReadFile(r.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading persisted plan: %w", err)
	}
	var p bidding.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("decoding persisted plan %s: %w", r.path, err)
	}
	r.log.Info("re-applying persisted plan", "epoch", p.Epoch, "index", p.Index)
	_, err = r.Apply(ctx, p)
	return err
}

// Apply enforces p if it is newer than the last applied plan; an older or
// equal index is dropped (rule 8). It reports whether p was applied.
func (r *Reconciler) Apply(ctx context.Context, p bidding.Plan) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.plan != nil && p.Index <= r.index {
		return false, nil
	}
	mine := Slice(p, r.node)
	if err := r.driver.Apply(ctx, mine); err != nil {
		return false, fmt.Errorf("enforcing epoch %d with %s: %w", p.Epoch, r.driver.Name(), err)
	}
	r.index, r.plan = p.Index, &p
	if r.path != "" {
		if err := writeAtomic(r.path, p); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Current returns the plan in force (nil before the first).
func (r *Reconciler) Current() *bidding.Plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.plan
}

// Slice returns the allocations of one node, sorted by service.
func Slice(p bidding.Plan, node string) []bidding.Allocation {
	var out []bidding.Allocation
	for _, a := range p.Allocations {
		if a.Node == node {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

func writeAtomic(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding plan: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("persisting plan: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("persisting plan: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("persisting plan: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("persisting plan: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("persisting plan: %w", err)
	}
	return nil
}

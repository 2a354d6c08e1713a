package client

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/usage"
)

// fakeAPI is a cluster that commits the plans a test pushes.
type fakeAPI struct {
	mu        sync.Mutex
	plans     chan bidding.Plan // WatchNodePlan returns the next one pushed
	sliceAt   map[uint64]string // node_hash of each slice answered, by plan index
	stubs     int               // answers that were stubs (slice unchanged)
	down      bool              // every call fails (no server answers)
	bids      [][]bidding.Bid
	reports   []fsm.UsageReport
	registry  map[string]bidding.Service
	boosts    map[string][]api.BoostRequest
	settings  fsm.Settings
	watchErrs int
	history   map[string]api.UsageHistory // "service/node"
	histReads int
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{plans: make(chan bidding.Plan, 16), registry: map[string]bidding.Service{},
		boosts: map[string][]api.BoostRequest{}, settings: fsm.Settings{EpochMS: 1000, Options: bidding.DefaultOptions()}}
}

var errDown = errors.New("connection refused")

func (f *fakeAPI) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// WatchNodePlan answers as a server does: the next pushed plan, cut to
// the node's slice, or a stub when that slice is the one of the plan at
// index (the slices it answered before are remembered by index).
func (f *fakeAPI) WatchNodePlan(ctx context.Context, node string, index uint64, wait time.Duration) (bidding.Plan, error) {
	if f.isDown() {
		f.mu.Lock()
		f.watchErrs++
		f.mu.Unlock()
		return bidding.Plan{}, errDown
	}
	select {
	case p := <-f.plans:
		s := bidding.NodeSlice(&p, node)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.sliceAt == nil {
			f.sliceAt = map[uint64]string{}
		}
		f.sliceAt[s.Index] = s.NodeHash
		if h, ok := f.sliceAt[index]; ok && index > 0 && h == s.NodeHash {
			f.stubs++
			return bidding.Unchanged(s), nil
		}
		return s, nil
	case <-time.After(50 * time.Millisecond):
		return bidding.Plan{}, &api.Error{Code: 404, Msg: "no plan yet"}
	case <-ctx.Done():
		return bidding.Plan{}, ctx.Err()
	}
}

func (f *fakeAPI) PutBids(_ context.Context, bids []bidding.Bid) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return 0, errDown
	}
	f.bids = append(f.bids, bids)
	return uint64(len(f.bids)), nil
}

func (f *fakeAPI) PutUsage(_ context.Context, rep fsm.UsageReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	f.reports = append(f.reports, rep)
	return nil
}

func (f *fakeAPI) Settings(context.Context) (fsm.Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return fsm.Settings{}, errDown
	}
	return f.settings, nil
}

func (f *fakeAPI) Regressors(context.Context, []string) (map[string][]fsm.RegressorPoint, error) {
	return nil, nil
}

func (f *fakeAPI) Service(_ context.Context, name string) (api.ServiceView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return api.ServiceView{}, errDown
	}
	s, ok := f.registry[name]
	if !ok {
		return api.ServiceView{}, &api.Error{Code: 404, Msg: "not registered"}
	}
	return api.ServiceView{Service: s}, nil
}

func (f *fakeAPI) RegisterService(_ context.Context, s bidding.Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	f.registry[s.Name] = s
	return nil
}

func (f *fakeAPI) Boost(_ context.Context, service string, b api.BoostRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.boosts[service] = append(f.boosts[service], b)
	return nil
}

func (f *fakeAPI) UsageHistory(_ context.Context, service, node string) (api.UsageHistory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.histReads++
	if f.down {
		return api.UsageHistory{}, errDown
	}
	h, ok := f.history[service+"/"+node]
	if !ok {
		return api.UsageHistory{}, &api.Error{Code: 404, Msg: "no usage history imported"}
	}
	return h, nil
}

// lastBids is the latest bid batch (nil before the first).
func (f *fakeAPI) lastBids() []bidding.Bid {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bids) == 0 {
		return nil
	}
	return f.bids[len(f.bids)-1]
}

func (f *fakeAPI) registered(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.registry[name]
	return ok
}

// fakeRuntime manages the services a test sets, and records what it applied.
type fakeRuntime struct {
	mu       sync.Mutex
	services []workload.Service
	applied  [][]bidding.Allocation
	failing  int // the next n applies fail
	changes  chan struct{}
}

func newFakeRuntime(svcs ...workload.Service) *fakeRuntime {
	return &fakeRuntime{services: svcs, changes: make(chan struct{}, 1)}
}

func (r *fakeRuntime) Name() string { return "fake" }

func (r *fakeRuntime) Discover(context.Context) ([]workload.Service, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.services), nil
}

func (r *fakeRuntime) Apply(_ context.Context, allocs []bidding.Allocation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing > 0 {
		r.failing--
		return errors.New("daemon refused the update")
	}
	r.applied = append(r.applied, slices.Clone(allocs))
	return nil
}

func (r *fakeRuntime) Changes() <-chan struct{} { return r.changes }

func (r *fakeRuntime) set(svcs ...workload.Service) {
	r.mu.Lock()
	r.services = svcs
	r.mu.Unlock()
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

func (r *fakeRuntime) appliedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.applied)
}

// appliedAll is every apply so far, in order.
func (r *fakeRuntime) appliedAll() [][]bidding.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.applied)
}

// limitsApplied is f of every apply's first allocation, in order: the
// limits a test follows through plans and probes.
func limitsApplied[T any](r *fakeRuntime, f func(bidding.Allocation) T) []T {
	var out []T
	for _, as := range r.appliedAll() {
		out = append(out, f(as[0]))
	}
	return out
}

// lastLimit is service's r in the last allocation applied to it (-1: none).
func (r *fakeRuntime) lastLimit(service string, res bidding.Resource) int64 {
	all := r.appliedAll()
	for i := len(all) - 1; i >= 0; i-- {
		for _, a := range all[i] {
			if a.Service == service {
				return a.Get(res)
			}
		}
	}
	return -1
}

func (r *fakeRuntime) lastApplied() []bidding.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applied) == 0 {
		return nil
	}
	return r.applied[len(r.applied)-1]
}

// fakeMeasure reports a fixed usage per instance key.
type fakeMeasure struct {
	mu    sync.Mutex
	use   map[string]usage.Usage // by cgroup path
	probe map[string]usage.Usage // by cgroup path: what a demand probe reads
}

func (m *fakeMeasure) ReadCgroup(key string, rel, _ string, _ time.Time) (usage.Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.probe[rel]; ok && strings.HasPrefix(key, "probe\x00") {
		return u, nil
	}
	u, ok := m.use[rel]
	if !ok {
		return usage.Usage{}, errors.New("reading " + rel + ": no such file")
	}
	return u, nil
}

func (m *fakeMeasure) set(rel string, u usage.Usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.use[rel] = u
}

func cpuUsage(millicores float64) usage.Usage {
	var u usage.Usage
	u.Value[bidding.CPU], u.Have[bidding.CPU] = millicores, true
	return u
}

func svc(name string, cgroups ...string) workload.Service {
	s := workload.Service{Def: bidding.Service{Name: name, Class: bidding.ClassStandard}}
	for _, cg := range cgroups {
		s.Instances = append(s.Instances, workload.Instance{ID: cg, Name: cg, Cgroup: cg})
	}
	return s
}

func plan(epoch, index uint64, allocs ...bidding.Allocation) bidding.Plan {
	return bidding.Plan{Epoch: epoch, Index: index, Created: time.Unix(1_700_000_000+int64(epoch), 0).UTC(), Allocations: allocs}
}

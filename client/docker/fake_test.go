package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/vishvananda/netlink"

	"github.com/allot-dev/allot/enforce"
)

// fakeEngine is an Engine holding containers in memory.
type fakeEngine struct {
	mu      sync.Mutex
	cs      map[string]*fakeContainer
	updates []update
	refuse  map[string]error // container ID → ContainerUpdate error
	pingErr error
	events  chan events.Message
	errs    chan error
}

type fakeContainer struct {
	name   string
	labels map[string]string
	pid    int
	net    string
	res    container.Resources
	gone   bool // listed, but gone by the time it is inspected or updated
}

type update struct {
	id  string
	res container.Resources
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{cs: map[string]*fakeContainer{}, refuse: map[string]error{}}
}

func (f *fakeEngine) add(id string, c *fakeContainer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cs[id] = c
}

func (f *fakeEngine) Ping(context.Context, client.PingOptions) (client.PingResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return client.PingResult{APIVersion: "1.41"}, f.pingErr
}

func (f *fakeEngine) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out client.ContainerListResult
	for id, c := range f.cs {
		out.Items = append(out.Items, container.Summary{ID: id, Names: []string{"/" + c.name}, Labels: c.labels})
	}
	return out, nil
}

func (f *fakeEngine) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cs[id]
	if !ok || c.gone {
		return client.ContainerInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{
		ID: id, Name: "/" + c.name, State: &container.State{Pid: c.pid, Running: true},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(c.net), Resources: c.res},
	}}, nil
}

func (f *fakeEngine) ContainerUpdate(_ context.Context, id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cs[id]
	if !ok {
		return client.ContainerUpdateResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	if err := f.refuse[id]; err != nil {
		return client.ContainerUpdateResult{}, err
	}
	f.updates = append(f.updates, update{id: id, res: *o.Resources})
	r := *o.Resources
	if r.CPUQuota != 0 {
		c.res.CPUQuota, c.res.CPUPeriod = r.CPUQuota, r.CPUPeriod
	}
	if r.CPUShares != 0 {
		c.res.CPUShares = r.CPUShares
	}
	if r.Memory != 0 {
		c.res.Memory, c.res.MemorySwap = r.Memory, r.MemorySwap
	}
	if r.MemoryReservation != 0 {
		c.res.MemoryReservation = r.MemoryReservation
	}
	return client.ContainerUpdateResult{}, nil
}

func (f *fakeEngine) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	return client.EventsResult{Messages: f.events, Err: f.errs}
}

func (f *fakeEngine) lastUpdate(id string) (container.Resources, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	var last container.Resources
	for _, u := range f.updates {
		if u.id == id {
			last = u.res
			n++
		}
	}
	return last, n
}

// fakeNetlink answers LinkByIndex with veth<index> and records tc calls.
type fakeNetlink struct {
	mu      sync.Mutex
	classes map[string]uint64 // link index → rate (bytes/s, as netlink keeps it)
}

func (n *fakeNetlink) LinkByName(name string) (netlink.Link, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "veth"))
	if err != nil {
		return nil, fmt.Errorf("no link %s", name)
	}
	return &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, Index: i}}, nil
}
func (n *fakeNetlink) LinkByIndex(i int) (netlink.Link, error) {
	return &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "veth" + strconv.Itoa(i), Index: i}}, nil
}
func (n *fakeNetlink) QdiscList(netlink.Link) ([]netlink.Qdisc, error) { return nil, nil }
func (n *fakeNetlink) QdiscReplace(netlink.Qdisc) error                { return nil }
func (n *fakeNetlink) QdiscDel(netlink.Qdisc) error                    { return nil }
func (n *fakeNetlink) ClassReplace(c netlink.Class) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.classes == nil {
		n.classes = map[string]uint64{}
	}
	h := c.(*netlink.HtbClass)
	n.classes[fmt.Sprint(h.LinkIndex)] = h.Rate
	return nil
}

// fakeHost is a temp dir holding /proc/<pid>/cgroup files and a v1 memory
// hierarchy with usage files.
type fakeHost struct {
	dir    string
	layout enforce.Layout
}

func newFakeHost(t *testing.T) *fakeHost {
	d := t.TempDir()
	return &fakeHost{dir: d, layout: enforce.Layout{V1: enforce.V1Mounts{
		CPU: filepath.Join(d, "cpu"), Memory: filepath.Join(d, "memory"), Blkio: filepath.Join(d, "blkio")}}}
}

// proc writes /proc/<pid>/cgroup for a container and its memory usage.
func (h *fakeHost) proc(t *testing.T, pid int, id string, usage int64) {
	t.Helper()
	p := filepath.Join(h.dir, "proc", strconv.Itoa(pid))
	must(t, os.MkdirAll(p, 0o755))
	must(t, os.WriteFile(filepath.Join(p, "cgroup"),
		[]byte(fmt.Sprintf("4:memory:/docker/%s\n2:cpuacct:/docker/%s\n1:cpu:/docker/%s\n0::/docker/%s\n", id, id, id, id)), 0o644))
	h.usage(t, id, usage)
}

func (h *fakeHost) usage(t *testing.T, id string, usage int64) {
	t.Helper()
	m := filepath.Join(h.layout.V1.Memory, "docker", id)
	must(t, os.MkdirAll(m, 0o755))
	must(t, os.WriteFile(filepath.Join(m, "memory.usage_in_bytes"), []byte(strconv.FormatInt(usage, 10)+"\n"), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newFake returns a Runtime on a fake engine, host and netlink.
func newFake(t *testing.T, eng *fakeEngine, h *fakeHost) (*Runtime, *fakeNetlink) {
	t.Helper()
	return newFakeNode(t, eng, h, "")
}

// newFakeNode is newFake for the client of node (Options.Node).
func newFakeNode(t *testing.T, eng *fakeEngine, h *fakeHost, node string) (*Runtime, *fakeNetlink) {
	t.Helper()
	nl := &fakeNetlink{}
	r, err := New(context.Background(), Options{Engine: eng, Netlink: nl, Layout: &h.layout, Node: node,
		Log: hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})})
	must(t, err)
	r.procDir = filepath.Join(h.dir, "proc")
	r.sysDir = filepath.Join(h.dir, "sys")
	r.peerIndex = func(pid int) (int, error) { return pid + 1000, nil }
	return r, nl
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

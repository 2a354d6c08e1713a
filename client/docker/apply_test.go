package docker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/moby/moby/api/types/events"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		total int64
		n     int
		want  []int64
	}{
		{600, 2, []int64{300, 300}},
		{100, 3, []int64{34, 33, 33}},
		{2, 3, []int64{2, 0, 0}},
		{0, 2, []int64{0, 0}},
		{7, 1, []int64{7}},
	} {
		got := split(tc.total, tc.n)
		var sum int64
		for i := range got {
			sum += got[i]
			if got[i] != tc.want[i] {
				t.Fatalf("split(%d, %d) = %v, want %v", tc.total, tc.n, got, tc.want)
			}
		}
		if sum != tc.total {
			t.Fatalf("split(%d, %d) sums to %d", tc.total, tc.n, sum)
		}
	}
}

func TestQuotaAndMemory(t *testing.T) {
	for _, tc := range []struct{ m, want int64 }{{0, -1}, {300, 30000}, {5, 1000}, {1500, 150000}} {
		if got := quota(tc.m); got != tc.want {
			t.Errorf("quota(%d) = %d, want %d", tc.m, got, tc.want)
		}
	}
	if l, r := memory(enforce.Borrow{}, 128<<20); l != 128<<20 || r != (128<<20)-(128<<20)/20 {
		t.Errorf("memory(128MiB) = %d, %d", l, r)
	}
	if l, _ := memory(enforce.Borrow{}, 1<<20); l != minMemory {
		t.Errorf("memory(1MiB) = %d, want the Engine's minimum %d", l, minMemory)
	}
	if l, r := memory(enforce.Borrow{}, 0); l != unlimitedMemory || r != unlimitedMemory {
		t.Errorf("memory(0) = %d, %d, want unlimited", l, r)
	}
}

// twoReplicas is a fake host with service t1 in two containers and a
// container with a bad label.
func twoReplicas(t *testing.T) (*fakeEngine, *fakeHost) {
	eng, h := newFakeEngine(), newFakeHost(t)
	eng.add("bbbb", &fakeContainer{name: "t1-b", pid: 20, labels: map[string]string{"allot.service": "t1", "allot.min.cpu": "100m"}})
	eng.add("aaaa", &fakeContainer{name: "t1-a", pid: 10, labels: map[string]string{"allot.service": "t1", "allot.min.cpu": "100m", "allot.min.memory": "64MiB"}})
	eng.add("cccc", &fakeContainer{name: "bad", pid: 30, labels: map[string]string{"allot.service": "t2", "allot.max.memory": "lots"}})
	eng.add("dddd", &fakeContainer{name: "hostnet", pid: 40, net: "host", labels: map[string]string{"allot.service": "h", "allot.class": "batch"}})
	eng.add("eeee", &fakeContainer{name: "plain", pid: 50, labels: map[string]string{"other": "x"}})
	h.proc(t, 10, "aaaa", 10<<20)
	h.proc(t, 20, "bbbb", 10<<20)
	h.proc(t, 30, "cccc", 0)
	h.proc(t, 40, "dddd", 0)
	return eng, h
}

func TestDiscover(t *testing.T) {
	eng, h := twoReplicas(t)
	r, _ := newFake(t, eng, h)
	svcs, err := r.Discover(context.Background())
	must(t, err)
	if len(svcs) != 2 || svcs[0].Def.Name != "h" || svcs[1].Def.Name != "t1" {
		t.Fatalf("services = %+v, want h and t1 (the bad label and the unlabelled container left out)", svcs)
	}
	t1 := svcs[1]
	if len(t1.Instances) != 2 || t1.Instances[0].Name != "t1-a" || t1.Instances[1].Name != "t1-b" {
		t.Fatalf("t1 instances = %+v", t1.Instances)
	}
	// The first container by name defines the service (t1-a has a memory min).
	if t1.Def.Min[bidding.Memory] != 64<<20 || t1.Def.Class != bidding.ClassStandard {
		t.Fatalf("t1 def = %+v, want t1-a's", t1.Def)
	}
	a := t1.Instances[0]
	if a.ID != "aaaa" || a.Pid != 10 || a.Cgroup != "docker/aaaa" || a.Interface != "veth1010" {
		t.Fatalf("t1-a = %+v", a)
	}
	if hn := svcs[0].Instances[0]; hn.Interface != "" || hn.Cgroup != "docker/dddd" || svcs[0].Def.Class != bidding.ClassBatch {
		t.Fatalf("host-network container = %+v (%+v), want no interface", hn, svcs[0].Def)
	}
}

func TestApplySplitsAmongReplicas(t *testing.T) {
	eng, h := twoReplicas(t)
	r, nl := newFake(t, eng, h)
	allocs := []bidding.Allocation{
		{Service: "other", CPU: 1000},
		{Service: "t1", CPU: 601, Memory: 256 << 20, Net: 2000000},
	}
	must(t, r.Apply(context.Background(), allocs))
	a, _ := eng.lastUpdate("aaaa")
	b, _ := eng.lastUpdate("bbbb")
	if a.CPUPeriod != 100000 || a.CPUQuota != 30100 || b.CPUQuota != 30000 {
		t.Fatalf("cpu: a %d/%d b %d, want 30100 and 30000 per 100000", a.CPUQuota, a.CPUPeriod, b.CPUQuota)
	}
	if a.Memory != 128<<20 || a.MemorySwap != 128<<20 || a.MemoryReservation != (128<<20)-(128<<20)/20 || b.Memory != 128<<20 {
		t.Fatalf("memory: a %+v b %+v", a, b)
	}
	if nl.classes["1010"] != 1000000/8 || nl.classes["1020"] != 1000000/8 {
		t.Fatalf("tc rates = %v, want 1 Mbit/s on each veth", nl.classes)
	}
	// Applying the same plan again changes nothing.
	must(t, r.Apply(context.Background(), allocs))
	if _, n := eng.lastUpdate("aaaa"); n != 1 {
		t.Fatalf("%d updates of an unchanged container, want 1", n)
	}
	// cpu and memory 0: no cpu limit, memory lifted to "unlimited".
	must(t, r.Apply(context.Background(), []bidding.Allocation{{Service: "t1"}}))
	a, _ = eng.lastUpdate("aaaa")
	if a.CPUQuota != -1 || a.Memory != unlimitedMemory || a.MemorySwap != unlimitedMemory {
		t.Fatalf("zero allocation: %+v", a)
	}
}

func TestApplyNeverBelowMin(t *testing.T) {
	eng, h := twoReplicas(t)
	r, _ := newFake(t, eng, h)
	must(t, r.Apply(context.Background(), []bidding.Allocation{{Service: "t1", CPU: 50, Memory: 32 << 20}}))
	a, _ := eng.lastUpdate("aaaa")
	if a.CPUQuota != 5000 || a.Memory != 32<<20 {
		t.Fatalf("got quota %d memory %d, want the min (100m, 64MiB) split in two", a.CPUQuota, a.Memory)
	}
}

func TestApplyMemoryNeverBelowUsage(t *testing.T) {
	eng, h := twoReplicas(t)
	r, _ := newFake(t, eng, h)
	ctx := context.Background()
	must(t, r.Apply(ctx, []bidding.Allocation{{Service: "t1", Memory: 512 << 20}}))
	h.usage(t, "aaaa", 200<<20) // t1-a now uses 200 MiB
	err := r.Apply(ctx, []bidding.Allocation{{Service: "t1", Memory: 256 << 20}})
	if err == nil || !strings.Contains(err.Error(), "t1-a") || !strings.Contains(err.Error(), "below current usage") {
		t.Fatalf("error = %v, want one naming t1-a and its usage", err)
	}
	if strings.Contains(err.Error(), "t1-b") {
		t.Fatalf("t1-b fits, but: %v", err)
	}
	a, _ := eng.lastUpdate("aaaa")
	if a.Memory != 0 || a.MemoryReservation != (128<<20)-(128<<20)/20 {
		t.Fatalf("t1-a update %+v: want the hard limit untouched, the reservation lowered", a)
	}
	if b, _ := eng.lastUpdate("bbbb"); b.Memory != 128<<20 {
		t.Fatalf("t1-b memory %d, want 128MiB", b.Memory)
	}
	// Once usage has come down, the retry lowers the hard limit.
	h.usage(t, "aaaa", 100<<20)
	must(t, r.Apply(ctx, []bidding.Allocation{{Service: "t1", Memory: 256 << 20}}))
	if a, _ := eng.lastUpdate("aaaa"); a.Memory != 128<<20 || a.MemorySwap != 128<<20 {
		t.Fatalf("retry: %+v", a)
	}
}

func TestApplyVanishedAndRefused(t *testing.T) {
	eng, h := twoReplicas(t)
	eng.add("ffff", &fakeContainer{name: "t1-c", pid: 60, labels: map[string]string{"allot.service": "t1"}})
	h.proc(t, 60, "ffff", 0)
	r, _ := newFake(t, eng, h)
	eng.refuse["bbbb"] = errors.New("Cannot update container bbbb: boom")
	// t1-c goes between discovery (inside Apply: listed) and its update.
	eng.mu.Lock()
	eng.cs["ffff"].gone = true
	eng.mu.Unlock()
	err := r.Apply(context.Background(), []bidding.Allocation{{Service: "t1", CPU: 900}})
	if err == nil || !strings.Contains(err.Error(), "t1-b") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error = %v, want t1-b's refusal", err)
	}
	if a, _ := eng.lastUpdate("aaaa"); a.CPUQuota != 45000 {
		t.Fatalf("t1-a quota %d, want 45000 (split in two: t1-c is gone)", a.CPUQuota)
	}
	// Gone after discovery: the update itself finds no container.
	eng.mu.Lock()
	delete(eng.refuse, "bbbb")
	delete(eng.cs, "ffff")
	eng.mu.Unlock()
	in := instance{}
	in.ID, in.Name = "ffff", "t1-c"
	if err := r.applyOne(context.Background(), "t1", in, applied{cpuQuota: 1000}); !errors.Is(err, errVanished) {
		t.Fatalf("update of a removed container: %v, want errVanished", err)
	}
}

func TestRunSignalsAndReconnects(t *testing.T) {
	eng, h := twoReplicas(t)
	eng.events = make(chan events.Message)
	eng.errs = make(chan error, 1)
	r, _ := newFake(t, eng, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	eng.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{Attributes: map[string]string{LabelNode: "elsewhere"}}}
	eng.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionExecCreate} // read after the one above
	select {
	case <-r.Changes():
		t.Fatal("another node's container signalled a change")
	default:
	}
	eng.events <- events.Message{Type: events.ContainerEventType, Action: events.ActionStart}
	waitSignal(t, r)
	eng.errs <- errors.New("unexpected EOF") // the daemon restarted
	waitSignal(t, r)                         // rediscover after reconnecting
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if _, open := <-r.Changes(); open {
		t.Fatal("Changes not closed after Run returned")
	}
}

func waitSignal(t *testing.T, r *Runtime) {
	t.Helper()
	select {
	case <-r.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("no change signalled")
	}
}

func TestNewUnreachable(t *testing.T) {
	_, err := New(context.Background(), Options{Socket: t.TempDir() + "/docker.sock"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker daemon at unix://") {
		t.Fatalf("err = %v", err)
	}
	eng := newFakeEngine()
	eng.pingErr = errors.New("connection refused")
	_, err = New(context.Background(), Options{Engine: eng, Socket: "/x.sock"})
	if err == nil || !strings.Contains(err.Error(), "unix:///x.sock") {
		t.Fatalf("err = %v", err)
	}
}

// Two clients sharing one Docker host: allot.node pins a container to one
// of them, an unlabelled container is managed by both, and a container
// pinned elsewhere is skipped without a warning even when its labels are bad.
func TestNodeLabel(t *testing.T) {
	eng, h := newFakeEngine(), newFakeHost(t)
	eng.add("aaaa", &fakeContainer{name: "a", pid: 10, labels: map[string]string{"allot.service": "sa", "allot.node": "n1"}})
	eng.add("bbbb", &fakeContainer{name: "b", pid: 20, labels: map[string]string{"allot.service": "sb", "allot.node": "n2"}})
	eng.add("cccc", &fakeContainer{name: "c", pid: 30, labels: map[string]string{"allot.service": "shared"}})
	eng.add("dddd", &fakeContainer{name: "d", pid: 40, labels: map[string]string{"allot.service": "sd", "allot.node": "n2", "allot.max.memory": "lots"}})
	for i, id := range []string{"aaaa", "bbbb", "cccc", "dddd"} {
		h.proc(t, 10*(i+1), id, 0)
	}
	names := func(r *Runtime) []string {
		svcs, err := r.Discover(context.Background())
		must(t, err)
		var out []string
		for _, s := range svcs {
			for _, in := range s.Instances {
				out = append(out, s.Def.Name+"/"+in.Name)
			}
		}
		return out
	}
	r1, _ := newFakeNode(t, eng, h, "n1")
	r2, _ := newFakeNode(t, eng, h, "n2")
	r0, _ := newFake(t, eng, h) // no Node: only unlabelled containers
	for _, c := range []struct {
		r    *Runtime
		want []string
	}{
		{r1, []string{"sa/a", "shared/c"}},
		{r2, []string{"sb/b", "shared/c"}}, // d is n2's but its label is bad
		{r0, []string{"shared/c"}},
	} {
		if got := names(c.r); !slices.Equal(got, c.want) {
			t.Errorf("node %q discovers %q, want %q", c.r.node, got, c.want)
		}
	}
	warnedD := func(r *Runtime) bool {
		for k := range r.logged {
			if strings.Contains(k, "dddd") {
				return true
			}
		}
		return false
	}
	if warnedD(r0) || warnedD(r1) || !warnedD(r2) {
		t.Errorf("warnings about d's bad label: n1 %v, none %v, n2 %v; want only n2's", warnedD(r1), warnedD(r0), warnedD(r2))
	}
}

// TestApplyBorrow: borrowing, each container's hard limit is the node's
// memory and its share of the allocation the reservation; its processes
// are ranked for the OOM killer by that share (enforce.OOMScoreAdj).
func TestApplyBorrow(t *testing.T) {
	eng, h := twoReplicas(t)
	r, _ := newFake(t, eng, h)
	const domain = 1 << 30
	r.borrow = enforce.Borrow{Domain: domain}
	files := func(id, procs string) {
		d := filepath.Join(h.layout.V1.Memory, "docker", id)
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(procs), 0o644))
	}
	adj := func(pid int) string {
		b, err := os.ReadFile(filepath.Join(h.dir, "proc", strconv.Itoa(pid), "oom_score_adj"))
		if err != nil {
			return err.Error()
		}
		return string(b)
	}
	for _, pid := range []int{10, 11, 20} {
		must(t, os.MkdirAll(filepath.Join(h.dir, "proc", strconv.Itoa(pid)), 0o755))
		must(t, os.WriteFile(filepath.Join(h.dir, "proc", strconv.Itoa(pid), "oom_score_adj"), []byte("0"), 0o644))
	}
	files("aaaa", "10\n11\n")
	files("bbbb", "20\n")
	must(t, r.Apply(context.Background(), []bidding.Allocation{{Service: "t1", CPU: 200, Memory: 256 << 20}}))
	a, _ := eng.lastUpdate("aaaa")
	if a.Memory != domain || a.MemorySwap != domain || a.MemoryReservation != 128<<20 {
		t.Fatalf("borrowing: update %+v, want the node's memory as the limit and 128MiB reserved", a)
	}
	if c, m := Limits(200, 128<<20, true); c != 200 || m != 128<<20 {
		t.Errorf("Limits borrowing = %d, %d, want the reservation as memory", c, m)
	}
	want := strconv.Itoa(enforce.OOMScoreAdj(128<<20, domain))
	for _, pid := range []int{10, 11, 20} {
		if got := adj(pid); got != want {
			t.Errorf("pid %d oom_score_adj %q, want %s", pid, got, want)
		}
	}
}

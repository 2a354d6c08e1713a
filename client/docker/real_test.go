package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/client"
	"github.com/vishvananda/netlink"
)

// TestRealDocker runs the runtime against this host's Docker daemon: an
// image FROM scratch holding the allot binary, two replicas of service
// t1, Discover, Apply, docker inspect through the SDK, and a third
// container signalling Changes. Everything it creates is removed.
func TestRealDocker(t *testing.T) {
	if _, err := os.Stat(DefaultSocket); err != nil {
		t.Skipf("no Docker daemon here (%s: %v)", DefaultSocket, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (the daemon's socket, /proc/<pid>/ns/net of containers, tc)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker command is needed to build the test image")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	uniq := fmt.Sprintf("allot-dt-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	image := uniq + ":test"

	dir := t.TempDir()
	root, err := filepath.Abs("../..")
	must(t, err)
	run("go", "build", "-C", root, "-o", filepath.Join(dir, "allot"), "./cmd/allot")
	must(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY allot /allot\nENTRYPOINT [\"/allot\"]\n"), 0o644))
	run("docker", "build", "-q", "-t", image, dir)
	var names []string
	t.Cleanup(func() {
		for _, n := range names {
			_ = exec.Command("docker", "rm", "-f", n).Run()
		}
		_ = exec.Command("docker", "rmi", "-f", image).Run()
	})
	start := func(name string) {
		names = append(names, name)
		run("docker", "run", "-d", "--name", name, "--label", "allot.service=t1", "--label", "allot.test="+uniq,
			image, "agent", "--dev", "--http-addr", "127.0.0.1:0")
	}
	start(uniq + "-a")
	start(uniq + "-b")

	r, err := New(ctx, Options{Log: hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})})
	must(t, err)
	defer r.Close()
	svcs, err := r.Discover(ctx)
	must(t, err)
	var t1 *bidding.Service
	var inst []string
	for _, s := range svcs {
		if s.Def.Name != "t1" {
			continue
		}
		t1 = &s.Def
		for _, in := range s.Instances {
			if !strings.HasPrefix(in.Name, uniq) {
				continue // a t1 container of someone else's
			}
			inst = append(inst, in.ID)
			if in.Cgroup == "" || in.Interface == "" || in.Pid == 0 {
				t.Errorf("instance %+v: want a cgroup, an interface and a pid", in)
			}
			if !strings.Contains(in.Cgroup, in.ID) {
				t.Errorf("cgroup %q does not name container %s", in.Cgroup, in.ID)
			}
		}
		if len(s.Instances) != 2 {
			t.Skipf("other containers labelled allot.service=t1 run here: %+v", s.Instances)
		}
	}
	if t1 == nil || len(inst) != 2 {
		t.Fatalf("Discover = %+v, want service t1 with our two containers", svcs)
	}

	must(t, r.Apply(ctx, []bidding.Allocation{{Service: "t1", CPU: 600, Memory: 256 << 20, Net: 2000000}}))
	eng := r.eng.(*client.Client)
	for _, id := range inst {
		res, err := eng.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		must(t, err)
		hc := res.Container.HostConfig
		if hc.CPUPeriod != 100000 || hc.CPUQuota != 30000 || hc.CPUShares != 307 {
			t.Errorf("%s: CpuPeriod %d CpuQuota %d CpuShares %d, want 100000, 30000 and 307 (300m of 1024 per core)", id, hc.CPUPeriod, hc.CPUQuota, hc.CPUShares)
		}
		if hc.Memory != 128<<20 || hc.MemoryReservation != (128<<20)-(128<<20)/20 || hc.MemorySwap != 128<<20 {
			t.Errorf("%s: Memory %d MemoryReservation %d MemorySwap %d, want 128MiB, 95%% of it, 128MiB",
				id, hc.Memory, hc.MemoryReservation, hc.MemorySwap)
		}
	}
	svcs, err = r.Discover(ctx)
	must(t, err)
	for _, s := range svcs {
		for _, in := range s.Instances {
			if s.Def.Name != "t1" {
				continue
			}
			l, err := netlink.LinkByName(in.Interface)
			must(t, err)
			qs, err := netlink.QdiscList(l)
			must(t, err)
			if len(qs) == 0 || qs[0].Type() != "htb" {
				t.Errorf("%s (%s): qdiscs %v, want Allot's htb", in.Name, in.Interface, qs)
			}
		}
	}

	// A third container: Changes fires within a few seconds.
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { stop(); <-done }()
	time.Sleep(time.Second) // let the events stream connect
	start(uniq + "-c")
	select {
	case <-r.Changes():
	case <-time.After(10 * time.Second):
		t.Fatal("no change signalled within 10 s of starting a third container")
	}
}

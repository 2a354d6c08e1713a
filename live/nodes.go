package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

// A node of the live run is a cgroup parent on this host with the node's
// capacity as its own limits (so two "nodes" of 0.8 core contend on a
// 2-core machine as two small machines would), and one client agent, a
// host process with the Docker runtime, managing the containers labelled
// allot.node=NAME.

// nodeOverhead is memory the node's cgroup allows beyond its capacity: the
// loadgen processes' own runtime (a few MiB each), which the traces do not
// count.
const nodeOverhead = 96 << 20

// cgroupNode makes (or remakes) the node's parent cgroup with its limits.
type cgroupNode struct {
	layout cgroups.Layout
	parent string // "/allot-live-node-a"
}

func (n cgroupNode) dirs() []string {
	if n.layout.V2 != "" {
		return []string{filepath.Join(n.layout.V2, n.parent)}
	}
	var out []string
	for _, m := range []string{n.layout.V1.CPU, n.layout.V1.CPUAcct, n.layout.V1.Memory, n.layout.V1.Blkio} {
		if m != "" && !slices.Contains(out, filepath.Join(m, n.parent)) {
			out = append(out, filepath.Join(m, n.parent))
		}
	}
	return out
}

// create makes the parent and writes cpu and memory limits for capacity.
func (n cgroupNode) create(capacity bidding.Vec) error {
	for _, d := range n.dirs() {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("node cgroup: %w", err)
		}
	}
	quota := capacity[bidding.CPU] * 100 // µs per 100 ms period
	mem := capacity[bidding.Memory] + nodeOverhead
	var files map[string]string
	if v2 := n.layout.V2; v2 != "" {
		d := filepath.Join(v2, n.parent)
		files = map[string]string{filepath.Join(d, "cpu.max"): fmt.Sprintf("%d 100000", quota), filepath.Join(d, "memory.max"): strconv.FormatInt(mem, 10)}
	} else {
		files = map[string]string{
			filepath.Join(n.layout.V1.CPU, n.parent, "cpu.cfs_period_us"):        "100000",
			filepath.Join(n.layout.V1.CPU, n.parent, "cpu.cfs_quota_us"):         strconv.FormatInt(quota, 10),
			filepath.Join(n.layout.V1.Memory, n.parent, "memory.limit_in_bytes"): strconv.FormatInt(mem, 10),
		}
	}
	for f, v := range files {
		if err := os.WriteFile(f, []byte(v), 0o644); err != nil {
			return fmt.Errorf("node cgroup limit: %w", err)
		}
	}
	return nil
}

// remove deletes the parent (its containers' cgroups are gone with them).
func (n cgroupNode) remove() error {
	var errs []error
	for _, d := range n.dirs() {
		if err := removeTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTree rmdirs a cgroup and its children, deepest first (cgroup
// directories are removed with rmdir, never by deleting their files).
func removeTree(d string) error {
	ents, err := os.ReadDir(d)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(d, e.Name())); err != nil {
				return err
			}
		}
	}
	var last error
	for i := 0; i < 20; i++ { // a cgroup whose last task just exited is busy for a moment
		if last = syscall.Rmdir(d); last == nil || os.IsNotExist(last) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("removing cgroup %s: %w", d, last)
}

// staleParents lists the parents an earlier, interrupted run left behind.
func staleParents(l cgroups.Layout) []cgroupNode {
	seen := map[string]bool{}
	var out []cgroupNode
	for _, m := range []string{l.V2, l.V1.CPU, l.V1.CPUAcct, l.V1.Memory, l.V1.Blkio} {
		if m == "" {
			continue
		}
		ents, _ := os.ReadDir(m)
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), "allot-live-") && !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, cgroupNode{layout: l, parent: "/" + e.Name()})
			}
		}
	}
	return out
}

// agent is a client agent process.
type agent struct {
	name    string
	bin     string
	cfgPath string
	joins   []string
	logPath string
	cmd     *exec.Cmd
	done    chan error
}

// clientConfig is the HCL of a live node's client agent.
func clientConfig(node, dataDir, bind, httpAddr string, gossip, raft int, policy string, borrow bool, capacity bidding.Vec) string {
	return fmt.Sprintf(`node_name      = %q
data_dir       = %q
bind_addr      = %q
advertise_addr = %q
http_addr      = %q
log_level      = "debug"
ports {
  gossip = %d
  raft   = %d
}
client {
  enabled = true
  policy  = %q
  cgroup_parent = %q
  memory_borrow = %t
  capacity {
    cpu    = "%dm"
    memory = "%d"
  }
  docker { enabled = true }
}
`, node, dataDir, bind, bind, httpAddr, gossip, raft, policy, "/allot-live-"+node, borrow, capacity[bidding.CPU], capacity[bidding.Memory])
}

func (a *agent) start() error {
	lf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"agent", "--config", a.cfgPath}
	for _, j := range a.joins {
		args = append(args, "--join", j)
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("starting client %s: %w", a.name, err)
	}
	a.cmd, a.done = cmd, make(chan error, 1)
	go func() { a.done <- cmd.Wait(); lf.Close() }()
	return nil
}

// kill9 is the fault: SIGKILL, nothing flushed, nothing restored.
func (a *agent) kill9() error {
	if a.cmd == nil {
		return nil
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-a.done
	a.cmd = nil
	return nil
}

// stop asks the agent to leave and waits (then kills it).
func (a *agent) stop(ctx context.Context) {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	case <-ctx.Done():
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd = nil
}

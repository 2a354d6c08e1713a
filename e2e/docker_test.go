//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const dockerLabel = "allot-e2e"

var (
	imageOnce sync.Once
	imageName string
	imageErr  error
)

// needDocker skips the test when Docker cannot be used here.
func needDocker(t testing.TB) {
	t.Helper()
	if os.Getenv("E2E_NO_DOCKER") != "" {
		t.Skip("E2E_NO_DOCKER is set: skipping the container scenarios")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not installed: skipping the container scenarios")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("the Docker daemon is not reachable (%v: %s): skipping the container scenarios", err, strings.TrimSpace(string(out)))
	}
	imageOnce.Do(buildImage)
	if imageErr != nil {
		t.Fatalf("building the image: %v", imageErr)
	}
}

// buildImage builds deploy/Dockerfile (FROM scratch) around the test binary.
func buildImage() {
	ctx, err := os.MkdirTemp("", "allot-e2e-image-")
	if err != nil {
		imageErr = err
		return
	}
	defer os.RemoveAll(ctx)
	df, err := os.ReadFile("../deploy/Dockerfile")
	if err != nil {
		imageErr = err
		return
	}
	bin, err := os.ReadFile(allotBin)
	if err != nil {
		imageErr = err
		return
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), df, 0o644); err != nil {
		imageErr = err
		return
	}
	if err := os.WriteFile(filepath.Join(ctx, "allot"), bin, 0o755); err != nil {
		imageErr = err
		return
	}
	imageName = fmt.Sprintf("allot-e2e:%d", os.Getpid())
	cmd := exec.Command("docker", "build", "-q", "--label", dockerLabel+"=1", "-t", imageName, ctx)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		imageErr = fmt.Errorf("%v: %s", err, out)
	}
}

func cleanupDockerImage() {
	if imageName != "" {
		_ = exec.Command("docker", "rmi", "-f", imageName).Run()
	}
}

func docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// dockerCluster runs each agent in a container attached to two networks it
// creates: "net" carries gossip, Raft and forwarding (and is what a partition
// cuts), "ctl" is internal and only lets the test reach each HTTP API.
type dockerCluster struct {
	t      testing.TB
	prefix string
	net    string
	ctl    string
	netPre string // "10.x.y."
	ctlPre string
	cfg    string
	dir    string
	mu     sync.Mutex
	nodes  map[string]*dockerNode
	srvs   []string
	cls    []string
	nextIP int
}

type dockerNode struct {
	name   string
	server bool
	ip     string // on net
	ctlIP  string
	up     bool
	parted bool
	logs   string // logs of containers this node had before a recreate
}

func newDockerCluster(t testing.TB, clients int) *dockerCluster {
	t.Helper()
	needDocker(t)
	id := fmt.Sprintf("%x", rand.Uint32())
	c := &dockerCluster{t: t, prefix: "allot-e2e-" + id, nodes: map[string]*dockerNode{}, nextIP: 10}
	c.net, c.ctl = c.prefix+"-net", c.prefix+"-ctl"
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		a, b := 200+rand.IntN(50), rand.IntN(250)
		c.netPre, c.ctlPre = fmt.Sprintf("10.%d.%d.", a, b), fmt.Sprintf("10.%d.%d.", a, b+1)
		if _, err = docker("network", "create", "--label", dockerLabel+"=1", "--subnet", c.netPre+"0/24", c.net); err != nil {
			continue
		}
		if _, err = docker("network", "create", "--internal", "--label", dockerLabel+"=1", "--subnet", c.ctlPre+"0/24", c.ctl); err != nil {
			_, _ = docker("network", "rm", c.net)
			continue
		}
		break
	}
	if err != nil {
		t.Fatalf("creating networks: %v", err)
	}
	dir, err := os.MkdirTemp("", "allot-e2e-cfg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	c.cfg = filepath.Join(dir, "allot.hcl")
	if err := os.WriteFile(c.cfg, []byte(clusterConfig()), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		c.add(fmt.Sprintf("s%d", i), true)
	}
	for i := 1; i <= clients; i++ {
		c.add(fmt.Sprintf("c%d", i), false)
	}
	// docker start is slow here (seconds each): start the nodes in parallel
	names := append(append([]string{}, c.srvs...), c.cls...)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func(i int, n string) { defer wg.Done(); errs[i] = c.run(c.nodes[n]) }(i, n)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
	}
	return c
}

func (c *dockerCluster) add(name string, server bool) {
	n := &dockerNode{name: name, server: server, ip: c.netPre + fmt.Sprint(c.nextIP), ctlIP: c.ctlPre + fmt.Sprint(c.nextIP)}
	c.nextIP++
	c.nodes[name] = n
	if server {
		c.srvs = append(c.srvs, name)
	} else {
		c.cls = append(c.cls, name)
	}
}

func (c *dockerCluster) container(name string) string { return c.prefix + "-" + name }
func (c *dockerCluster) volume(name string) string    { return c.prefix + "-" + name + "-data" }

// run creates and starts a node's container (its volume persists across runs).
func (c *dockerCluster) run(n *dockerNode) error {
	if _, err := docker("volume", "create", "--label", dockerLabel+"=1", c.volume(n.name)); err != nil {
		return err
	}
	args := []string{"create", "--name", c.container(n.name), "--hostname", n.name, "--label", dockerLabel + "=1",
		"--network", c.net, "--ip", n.ip, "-v", c.volume(n.name) + ":/data", "-v", c.cfg + ":/etc/allot/allot.hcl:ro",
		imageName, "agent", "--config", "/etc/allot/allot.hcl", "--node", n.name, "--data-dir", "/data",
		"--advertise", n.ip, "--http-addr", "0.0.0.0:7480"}
	if n.server {
		args = append(args, "--server", "--bootstrap-expect", "3")
	} else {
		args = append(args, "--client")
	}
	for _, s := range c.srvs {
		if s != n.name {
			args = append(args, "--join", c.nodes[s].ip+":7481")
		}
	}
	if _, err := docker(args...); err != nil {
		return err
	}
	if _, err := docker("network", "connect", "--ip", n.ctlIP, c.ctl, c.container(n.name)); err != nil {
		return err
	}
	if _, err := docker("start", c.container(n.name)); err != nil {
		return err
	}
	c.mu.Lock()
	n.up = true
	c.mu.Unlock()
	return nil
}

// Parted reports whether the node is cut off the cluster network.
func (c *dockerCluster) Parted(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[name]
	return ok && n.parted
}

func (c *dockerCluster) Servers() []string       { return c.srvs }
func (c *dockerCluster) Clients() []string       { return c.cls }
func (c *dockerCluster) HTTP(name string) string { return c.nodes[name].ctlIP + ":7480" }

func (c *dockerCluster) setUp(name string, up bool) {
	c.mu.Lock()
	c.nodes[name].up = up
	c.mu.Unlock()
}

func (c *dockerCluster) Start(name string) error {
	if _, err := docker("start", c.container(name)); err != nil {
		return err
	}
	c.setUp(name, true)
	return nil
}

func (c *dockerCluster) Kill(name string) error {
	c.setUp(name, false)
	_, err := docker("kill", "-s", "KILL", c.container(name))
	return err
}

// DiedAt is when the node's container last exited, as Docker recorded it.
func (c *dockerCluster) DiedAt(name string) (time.Time, error) {
	out, err := docker("inspect", "-f", "{{.State.FinishedAt}}", c.container(name))
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, out)
}

func (c *dockerCluster) Stop(name string) error {
	c.setUp(name, false)
	_, err := docker("stop", "-t", "15", c.container(name))
	return err
}

func (c *dockerCluster) Up(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[name]
	return ok && n.up
}

func (c *dockerCluster) Logs(name string) string {
	out, _ := exec.Command("docker", "logs", c.container(name)).CombinedOutput()
	return c.nodes[name].logs + string(out)
}

func (c *dockerCluster) DataFile(name, rel string) ([]byte, error) {
	out, err := exec.Command("docker", "cp", c.container(name)+":/data/"+rel, "-").Output()
	if err != nil {
		return nil, fmt.Errorf("docker cp %s: %w", rel, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	if _, err := tr.Next(); err != nil {
		return nil, err
	}
	return io.ReadAll(tr)
}

// Partition disconnects the node from the cluster network (it keeps its
// control-network address, so the test can still ask it questions).
func (c *dockerCluster) Partition(name string) error {
	if _, err := docker("network", "disconnect", c.net, c.container(name)); err != nil {
		return err
	}
	c.mu.Lock()
	c.nodes[name].parted = true
	c.mu.Unlock()
	return nil
}

func (c *dockerCluster) Heal(name string) error {
	n := c.nodes[name]
	if _, err := docker("network", "connect", "--ip", n.ip, c.net, c.container(name)); err != nil {
		return err
	}
	c.mu.Lock()
	n.parted = false
	c.mu.Unlock()
	return nil
}

// RecreateNewIP removes the node's container and creates a new one with a
// new cluster IP on the same data volume (same node ID, new address).
func (c *dockerCluster) RecreateNewIP(name string) error {
	n := c.nodes[name]
	n.logs += c.Logs(name)
	if _, err := docker("rm", "-f", c.container(name)); err != nil {
		return err
	}
	c.mu.Lock()
	n.up = false
	n.ip = c.netPre + fmt.Sprint(c.nextIP)
	c.nextIP++
	c.mu.Unlock()
	return c.run(n)
}

func (c *dockerCluster) Close() {
	if c.dir != "" {
		defer os.RemoveAll(c.dir)
	}
	var cs, vs []string
	for name := range c.nodes {
		cs = append(cs, c.container(name))
		vs = append(vs, c.volume(name))
	}
	_, _ = docker(append([]string{"rm", "-f", "-v"}, cs...)...)
	_, _ = docker(append([]string{"volume", "rm", "-f"}, vs...)...)
	_, _ = docker("network", "rm", c.net, c.ctl)
}

// saveLogs writes every node's log to e2e/out/ (after a failure).
func (c *dockerCluster) saveLogs(t testing.TB) {
	_ = os.MkdirAll("out", 0o755)
	for name := range c.nodes {
		_ = os.WriteFile(filepath.Join("out", sanitize(t.Name())+"-"+name+".log"), []byte(c.Logs(name)), 0o644)
	}
}

var shared *dockerCluster

// dockerFor returns the shared container cluster (container starts take
// seconds each on this storage driver, so the scenarios share one cluster
// rather than create their own). It is brought back to full health first:
// every node started and connected, one leader, three voters; when that
// fails it is replaced by a fresh one. TestMain removes it at the end.
func dockerFor(t *testing.T) *dockerCluster {
	t.Helper()
	needDocker(t)
	if shared != nil && !shared.restore(t) {
		t.Logf("the shared cluster did not recover: replacing it")
		shared.saveLogs(t)
		shared.Close()
		shared = nil
	}
	if shared == nil {
		shared = newDockerCluster(t, 2)
	}
	c := shared
	c.t = t
	t.Cleanup(func() {
		if t.Failed() {
			c.saveLogs(t)
		}
	})
	return c
}

// restore heals, starts and waits; false when the cluster is not healthy in 45 s.
func (c *dockerCluster) restore(t *testing.T) bool {
	for name, n := range c.nodes {
		if n.parted {
			if err := c.Heal(name); err != nil {
				return false
			}
		}
		if !n.up {
			if err := c.Start(name); err != nil {
				return false
			}
		}
	}
	end := time.Now().Add(45 * time.Second)
	for time.Now().Before(end) {
		l, agree := "", true
		for _, s := range c.srvs {
			x := leaderOf(c, s)
			if x == "" || (l != "" && x != l) {
				agree = false
				break
			}
			l = x
		}
		if agree {
			var ps []peer
			if getJSON(c.HTTP(l), "/v1/status/peers", &ps) == nil && len(ps) == 3 {
				v := 0
				for _, p := range ps {
					if p.Voter {
						v++
					}
				}
				if v == 3 {
					return true
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

func closeShared() {
	if shared != nil {
		shared.Close()
		shared = nil
	}
}

func sanitize(s string) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(s)
}

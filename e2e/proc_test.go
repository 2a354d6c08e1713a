//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// procCluster runs agents as plain processes on 127.0.0.1.
type procCluster struct {
	t    testing.TB
	dir  string
	cfg  string
	mu   sync.Mutex
	node map[string]*procNode
	srvs []string
	cls  []string
}

type procNode struct {
	name               string
	server             bool
	http, gossip, raft int
	dataDir, logPath   string
	cmd                *exec.Cmd
	done               chan struct{}
	extra              []string
}

func newProcCluster(t testing.TB, clients int) *procCluster {
	return newProcClusterCfg(t, clients, clusterConfig())
}

func newProcClusterCfg(t testing.TB, clients int, cfg string) *procCluster {
	t.Helper()
	dir := t.TempDir()
	c := &procCluster{t: t, dir: dir, node: map[string]*procNode{}, cfg: filepath.Join(dir, "allot.hcl")}
	if err := os.WriteFile(c.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		c.add(fmt.Sprintf("s%d", i), true)
	}
	for i := 1; i <= clients; i++ {
		c.add(fmt.Sprintf("c%d", i), false)
	}
	t.Cleanup(c.Close)
	for _, n := range append(append([]string{}, c.srvs...), c.cls...) {
		if err := c.Start(n); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *procCluster) add(name string, server bool) {
	n := &procNode{name: name, server: server, http: freePort(c.t), gossip: freePort(c.t), raft: freePort(c.t),
		dataDir: filepath.Join(c.dir, name), logPath: filepath.Join(c.dir, name+".log")}
	c.node[name] = n
	if server {
		c.srvs = append(c.srvs, name)
	} else {
		c.cls = append(c.cls, name)
	}
}

func (c *procCluster) Servers() []string       { return c.srvs }
func (c *procCluster) Clients() []string       { return c.cls }
func (c *procCluster) HTTP(name string) string { return "127.0.0.1:" + strconv.Itoa(c.node[name].http) }

func (c *procCluster) args(n *procNode) []string {
	a := []string{"agent", "--config", c.cfg, "--node", n.name, "--data-dir", n.dataDir, "--bind", "127.0.0.1",
		"--advertise", "127.0.0.1", "--http-addr", c.HTTP(n.name), "--gossip-port", strconv.Itoa(n.gossip),
		"--raft-port", strconv.Itoa(n.raft)}
	if n.server {
		a = append(a, "--server", "--bootstrap-expect", "3")
	} else {
		a = append(a, "--client")
	}
	for _, s := range c.srvs {
		if s != n.name {
			a = append(a, "--join", "127.0.0.1:"+strconv.Itoa(c.node[s].gossip))
		}
	}
	return append(a, n.extra...)
}

func (c *procCluster) Start(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node[name]
	if n.cmd != nil {
		select {
		case <-n.done: // exited by itself (e.g. after a leave)
		default:
			return fmt.Errorf("%s is already running", name)
		}
	}
	if err := os.MkdirAll(n.dataDir, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(allotBin, c.args(n)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	n.cmd, n.done = cmd, done
	return nil
}

func (c *procCluster) signal(name string, sig syscall.Signal, wait time.Duration) error {
	c.mu.Lock()
	n := c.node[name]
	cmd, done := n.cmd, n.done
	c.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("%s is not running", name)
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-done
	}
	c.mu.Lock()
	n.cmd, n.done = nil, nil
	c.mu.Unlock()
	return nil
}

func (c *procCluster) Kill(name string) error { return c.signal(name, syscall.SIGKILL, 5*time.Second) }
func (c *procCluster) Stop(name string) error { return c.signal(name, syscall.SIGTERM, 15*time.Second) }

func (c *procCluster) Up(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.node[name]
	if !ok || n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

func (c *procCluster) Logs(name string) string {
	b, _ := os.ReadFile(c.node[name].logPath)
	return string(b)
}

func (c *procCluster) DataFile(name, rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(c.node[name].dataDir, rel))
}

func (c *procCluster) Close() {
	for name := range c.node {
		if c.Up(name) {
			_ = c.Kill(name)
		}
	}
	if c.t.Failed() {
		for name, n := range c.node {
			if b, err := os.ReadFile(n.logPath); err == nil {
				_ = os.MkdirAll("out", 0o755)
				_ = os.WriteFile(filepath.Join("out", sanitize(c.t.Name())+"-"+name+".log"), b, 0o644)
			}
		}
	}
}

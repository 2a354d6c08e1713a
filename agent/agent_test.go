package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/config"
	"github.com/hashicorp/go-hclog"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type running struct {
	name string
	http string
	done chan error
}

func (r *running) client() *api.Client { return api.NewClient(r.http, "") }

// startServers runs n server agents in this process on loopback.
func startServers(t *testing.T, n int) []*running { return startServersWith(t, n, "n", nil) }

// startServersWith names the agents prefix1…prefixN and adds extra(i)'s
// flags to agent i's (extra may be nil).
func startServersWith(t *testing.T, n int, prefix string, extra func(i int) []string) []*running {
	t.Helper()
	gports := make([]int, n)
	for i := range gports {
		gports[i] = freePort(t)
	}
	var out []*running
	for i := 0; i < n; i++ {
		r := &running{name: fmt.Sprintf("%s%d", prefix, i+1), http: fmt.Sprintf("127.0.0.1:%d", freePort(t)), done: make(chan error, 1)}
		args := []string{"--server", "--bootstrap-expect", fmt.Sprint(n), "--node", r.name,
			"--data-dir", t.TempDir(), "--bind", "127.0.0.1", "--advertise", "127.0.0.1",
			"--http-addr", r.http, "--gossip-port", fmt.Sprint(gports[i]),
			"--raft-port", fmt.Sprint(freePort(t)), "--epoch", "1s"}
		if extra != nil {
			args = append(args, extra(i)...)
		}
		for j := 0; j < n; j++ {
			if j != i {
				args = append(args, "--join", fmt.Sprintf("127.0.0.1:%d", gports[j]))
			}
		}
		cfg, err := config.Load(args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		a := New(cfg, hclog.New(&hclog.LoggerOptions{Name: r.name, Output: logs, Level: hclog.Debug}), "test")
		ctx, cancel := context.WithCancel(context.Background())
		go func() { r.done <- a.Run(ctx) }()
		t.Cleanup(func() {
			if t.Failed() { // the agents' own account of what went wrong
				t.Logf("log of agent %s:\n%s", r.name, logs.String())
			}
			cancel()
			select {
			case <-r.done:
			case <-time.After(20 * time.Second):
				t.Errorf("agent %s did not stop", r.name)
			}
		})
		out = append(out, r)
	}
	return out
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peers is the Raft configuration as r sees it; leader is the leader's name.
func peers(r *running) (voters int, leader string) { return peersVia(r.client()) }

// peersVia is peers through a given API client (TLS, tokens).
func peersVia(c *api.Client) (voters int, leader string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var ps []cluster.Peer
	if _, err := c.Do(ctx, "GET", "/v1/status/peers", nil, &ps); err != nil {
		return -1, ""
	}
	for _, p := range ps {
		if p.Voter {
			voters++
		}
		if p.Leader {
			leader = p.Name
		}
	}
	return voters, leader
}

func byName(rs []*running, name string) *running {
	for _, r := range rs {
		if r.name == name {
			return r
		}
	}
	return nil
}

// TestLeave: a follower that leaves (PUT /v1/agent/leave, what `allot
// leave` sends) is removed from Raft and its agent stops; then the leader
// leaves: it hands leadership over first. The last voter cannot be removed.
func TestLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three agents")
	}
	rs := startServers(t, 3)
	var lname string
	waitFor(t, "a leader with 3 voters", 30*time.Second, func() bool {
		v, l := peers(rs[0])
		lname = l
		return v == 3 && l != ""
	})
	l := byName(rs, lname)
	var f *running
	for _, r := range rs {
		if r != l {
			f = r
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if _, err := f.client().Do(ctx, "PUT", "/v1/agent/leave", nil, nil); err != nil {
		t.Fatalf("follower leave: %v", err)
	}
	select {
	case err := <-f.done:
		f.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("follower agent did not stop after leave")
	}
	waitFor(t, "2 voters", 10*time.Second, func() bool { v, _ := peers(l); return v == 2 })

	if _, err := l.client().Do(ctx, "PUT", "/v1/agent/leave", nil, nil); err != nil {
		t.Fatalf("leader leave: %v", err)
	}
	var rest *running
	for _, r := range rs {
		if r != l && r != f {
			rest = r
		}
	}
	waitFor(t, "the last server to lead alone", 15*time.Second, func() bool { v, ld := peers(rest); return v == 1 && ld == rest.name })
	_, err := rest.client().Do(ctx, "DELETE", "/v1/operator/raft/peer?id="+rest.name, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "last voter") {
		t.Fatalf("removing the last voter: %v", err)
	}
}

// lockedBuffer collects an agent's log for printing when a test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runAgent runs a until the test ends; the cleanup cancels ctx and waits
// for the agent to stop.
func runAgent(t *testing.T, a *Agent, ctx context.Context, cancel context.CancelFunc) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("agent did not stop")
		}
	})
}

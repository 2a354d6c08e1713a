//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// allotBin is the static binary every test runs (built once in TestMain).
var allotBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "allot-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	allotBin = filepath.Join(dir, "allot")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=e2e", "-o", allotBin, "../cmd/allot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building allot:", err)
		os.Exit(1)
	}
	code := m.Run()
	closeShared()
	cleanupDockerImage()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Cluster is three servers (s1..s3) and clients (c1, c2) that a test can
// kill, stop and restart. HTTP addresses are reachable from the test process.
type Cluster interface {
	Servers() []string
	Clients() []string
	HTTP(name string) string
	Start(name string) error // start again on its own data
	Kill(name string) error  // SIGKILL: no goodbye of any kind
	Stop(name string) error  // SIGTERM: shuts down without leaving
	Up(name string) bool
	Logs(name string) string
	DataFile(name, rel string) ([]byte, error) // a file from the node's data dir
	Close()
}

// Partitioner cuts a node off from the others and heals it (Docker only).
type Partitioner interface {
	Partition(name string) error
	Heal(name string) error
}

// Recreator replaces a server's container by one with a new IP on the same data volume.
type Recreator interface {
	RecreateNewIP(name string) error
}

// clusterConfig is the agent config every e2e node uses: a 1 s epoch and the
// raft timing under test; bids stay in force long enough for the checks.
func clusterConfig() string {
	hb := envOr("E2E_RAFT_HEARTBEAT", "500ms")
	el := envOr("E2E_RAFT_ELECTION", "500ms")
	return fmt.Sprintf(`server {
  epoch = "1s"
  bid_ttl = 1000
  plan_history = 10000
  raft_heartbeat = %q
  raft_election = %q
  server_stabilization_time = "2s"
  dead_server_grace = "5m"
}
client { enforce = "none" }
log_level = "debug"
`, hb, el)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var httpc = &http.Client{Timeout: 3 * time.Second}

// call does one API request; it returns the status, body and X-Allot-Index.
func call(ctx context.Context, method, addr, path string, body any) (int, []byte, uint64, error) {
	return callWith(httpc, ctx, method, addr, path, body)
}

var slowc = &http.Client{Timeout: 15 * time.Second}

func callWith(hc *http.Client, ctx context.Context, method, addr, path string, body any) (int, []byte, uint64, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	var idx uint64
	fmt.Sscan(resp.Header.Get("X-Allot-Index"), &idx)
	return resp.StatusCode, b, idx, err
}

func getJSON(addr, path string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	code, b, _, err := call(ctx, "GET", addr, path, nil)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("GET %s: %d %s", path, code, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

func put(addr, path string, body any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	code, b, _, err := call(ctx, "PUT", addr, path, body)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("PUT %s: %d %s", path, code, strings.TrimSpace(string(b)))
	}
	return nil
}

type peer struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
}

type planOut struct {
	Epoch   uint64    `json:"epoch"`
	Index   uint64    `json:"index"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
}

// leaderOf is the leader's node name as name sees it ("" if none or unreachable).
func leaderOf(c Cluster, name string) string {
	var l struct{ Name, ID string }
	if err := getJSON(c.HTTP(name), "/v1/status/leader", &l); err != nil {
		return ""
	}
	return l.Name
}

// waitLeader waits until every up server agrees on one leader among the up servers.
func waitLeader(t testing.TB, c Cluster, timeout time.Duration) string {
	t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		agree, l := true, ""
		for _, s := range c.Servers() {
			if !c.Up(s) || parted(c, s) {
				continue
			}
			x := leaderOf(c, s)
			if x == "" || (l != "" && x != l) || !c.Up(x) {
				agree = false
				break
			}
			l = x
		}
		if agree && l != "" {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no agreed leader within %s\n%s", timeout, tails(c))
	return ""
}

// waitVoters waits until the leader's configuration lists want voters, all of them up servers' names.
func waitVoters(t testing.TB, c Cluster, want int, timeout time.Duration) []peer {
	t.Helper()
	end := time.Now().Add(timeout)
	var last []peer
	for time.Now().Before(end) {
		l := ""
		for _, s := range c.Servers() {
			if c.Up(s) {
				if l = leaderOf(c, s); l != "" {
					break
				}
			}
		}
		if l != "" && c.Up(l) {
			var ps []peer
			if err := getJSON(c.HTTP(l), "/v1/status/peers", &ps); err == nil {
				last = ps
				v := 0
				for _, p := range ps {
					if p.Voter {
						v++
					}
				}
				if v == want && len(ps) == want {
					return ps
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("raft configuration is not %d voters within %s: %+v\n%s", want, timeout, last, tails(c))
	return nil
}

// waitPlanAfter waits for a plan whose epoch is above epoch on some up server.
func latestPlan(c Cluster, name string) (planOut, error) {
	var p planOut
	err := getJSON(c.HTTP(name), "/v1/plan", &p)
	return p, err
}

// setup registers the test services once a leader is up and waits for the
// clients' capacity records, so that bids for (svc, client) are valid.
func setup(t testing.TB, c Cluster) {
	t.Helper()
	l := waitLeader(t, c, 60*time.Second)
	for _, svc := range testServices {
		body := map[string]any{"class": "standard", "min": map[string]int64{"cpu": 100}, "max": map[string]int64{"cpu": 1 << 40}}
		var err error
		for i := 0; i < 20; i++ {
			if err = put(c.HTTP(l), "/v1/service/"+svc, body); err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("registering %s: %v", svc, err)
		}
	}
	end := time.Now().Add(30 * time.Second)
	for {
		var nodes []struct {
			Name   string `json:"name"`
			Client bool   `json:"client"`
		}
		ok := 0
		if err := getJSON(c.HTTP(l), "/v1/nodes", &nodes); err == nil {
			for _, n := range nodes {
				for _, cl := range c.Clients() {
					if n.Client && n.Name == cl {
						ok++
					}
				}
			}
		}
		if ok == len(c.Clients()) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("clients not recorded as nodes within 30 s: %+v\n%s", nodes, tails(c))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// a plan exists
	end = time.Now().Add(20 * time.Second)
	for {
		if p, err := latestPlan(c, l); err == nil && p.Epoch > 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("no plan within 20 s\n%s", tails(c))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var testServices = []string{"svc-a", "svc-b"}

func tails(c Cluster) string {
	var b strings.Builder
	names := append(append([]string{}, c.Servers()...), c.Clients()...)
	sort.Strings(names)
	for _, n := range names {
		lines := strings.Split(strings.TrimSpace(c.Logs(n)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s (up=%v) ---\n%s\n", n, c.Up(n), strings.Join(lines, "\n"))
	}
	return b.String()
}

// handedOut are the ports freePort returned in this test binary: the
// kernel may hand a just-closed ephemeral port out again at once, and two
// ports of one agent (gossip and Raft) that collide stop it at start.
var handedOut sync.Map

// freePort returns a loopback TCP port that is free now and that it never
// returned before in this test binary.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, seen := handedOut.LoadOrStore(p, true); !seen {
			return p
		}
	}
	t.Fatal("no fresh loopback port in 100 tries")
	return 0
}

func upServers(c Cluster) []string {
	var out []string
	for _, s := range c.Servers() {
		if c.Up(s) {
			out = append(out, s)
		}
	}
	return out
}

func others(all []string, not string) []string {
	var out []string
	for _, s := range all {
		if s != not {
			out = append(out, s)
		}
	}
	return out
}

package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
	"github.com/allot-dev/allot/usage"
	"github.com/hashicorp/go-hclog"
)

// TestBidderAgainstRealServer runs one agent as server and client with
// two service blocks (one without a cgroup: skipped) and a fake cgroup v1
// tree in which "web" uses 500 millicores and 100 MiB. The client loop must
// register web, bid for it with quantiles around what it uses, and report
// actuals that GET /v1/forecast/web pairs with those bids.
func TestBidderAgainstRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent")
	}
	root := t.TempDir()
	const mem = 100 << 20
	cpuFile := filepath.Join(root, "cpuacct", "allot", "web", "cpuacct.usage")
	memFile := filepath.Join(root, "memory", "allot", "web", "memory.usage_in_bytes")
	for _, f := range []string{cpuFile, memFile} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The "kernel": the cpu counter is computed when it is read, from the
	// same clock the reader stamps its readings with, so the rate is 500
	// millicores however the test is scheduled (a file rewritten by a
	// goroutine would lag by however long that goroutine was held up).
	start := time.Now()
	readFile := func(name string) ([]byte, error) {
		switch name {
		case cpuFile:
			ns := time.Since(start).Nanoseconds() / 2 // half a second of cpu per second
			return []byte(strconv.FormatInt(ns, 10) + "\n"), nil
		case memFile:
			return []byte(strconv.Itoa(mem) + "\n"), nil
		}
		return os.ReadFile(name)
	}
	for _, f := range []string{cpuFile, memFile} { // present for anything that stats them
		if err := os.WriteFile(f, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())

	cfgFile := filepath.Join(root, "agent.hcl")
	if err := os.WriteFile(cfgFile, []byte(`
client { enabled = true  enforce = "none"  cgroup_parent = "/allot" }
service "web"  { class = "critical"  cgroup = "web" }
service "nocg" { class = "batch" }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, err := config.Load([]string{"--config", cfgFile, "--server", "--bootstrap-expect", "1", "--node", "c1",
		"--data-dir", t.TempDir(), "--bind", "127.0.0.1", "--advertise", "127.0.0.1", "--http-addr", httpAddr,
		"--gossip-port", fmt.Sprint(freePort(t)), "--raft-port", fmt.Sprint(freePort(t)), "--epoch", "300ms"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := New(cfg, hclog.NewNullLogger(), "test")
	a.usageCfg = &usage.Config{V1: usage.V1{CPUAcct: filepath.Join(root, "cpuacct"), Memory: filepath.Join(root, "memory")}, ReadFile: readFile}
	runAgent(t, a, ctx, cancel)
	c := api.NewClient(httpAddr, "")
	get := func(path string, out any) error {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		_, err := c.Do(cctx, "GET", path, nil, out)
		return err
	}

	var web []bidding.Bid
	waitFor(t, "bids for web with cpu and memory", 60*time.Second, func() bool {
		web = nil
		if err := get("/v1/bids?service=web", &web); err != nil {
			return false
		}
		for _, b := range web {
			if _, ok := b.Resources["cpu"]; ok && b.Node == "c1" {
				return true
			}
		}
		return false
	})
	var svcs []api.ServiceView
	if err := get("/v1/services", &svcs); err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 1 || svcs[0].Name != "web" || svcs[0].Class != bidding.ClassCritical {
		t.Fatalf("registry %+v: want only web (critical); nocg has no cgroup", svcs)
	}
	b := web[len(web)-1]
	cpu, memq := b.Resources["cpu"], b.Resources["memory"]
	if !(cpu.P50 <= cpu.P90 && cpu.P90 <= cpu.P99) || cpu.P50 < 200 || cpu.P50 > 1000 {
		t.Fatalf("cpu quantiles %+v: want non-decreasing with p50 near the 500 millicores used", cpu)
	}
	if !(memq.P50 <= memq.P90 && memq.P90 <= memq.P99) || memq.P50 < mem || memq.P50 > 2*mem {
		t.Fatalf("memory quantiles %+v: want non-decreasing, p50 at least the %d bytes used", memq, mem)
	}

	var fv api.ForecastView
	waitFor(t, "forecast vs actual for web", 60*time.Second, func() bool {
		if err := get("/v1/forecast/web", &fv); err != nil || len(fv.Nodes) != 1 {
			return false
		}
		s := fv.Nodes[0].Resources["cpu"].Summary
		return s.Forecasts >= 3
	})
	n := fv.Nodes[0]
	if n.Node != "c1" {
		t.Fatalf("node %q", n.Node)
	}
	for _, p := range n.Resources["cpu"].Points {
		if p.Actual < 200 || p.Actual > 1000 {
			t.Fatalf("cpu actual %d at epoch %d: want near 500", p.Actual, p.Epoch)
		}
		if p.P50 != nil && !(*p.P50 <= *p.P90 && *p.P90 <= *p.P99) {
			t.Fatalf("point %+v: quantiles out of order", p)
		}
	}
	for _, p := range n.Resources["memory"].Points {
		if p.Actual != mem {
			t.Fatalf("memory actual %d, want %d", p.Actual, mem)
		}
	}
	ms := n.Resources["memory"].Summary
	if ms.Forecasts == 0 || ms.CoverageP99 != 1 {
		t.Fatalf("memory summary %+v: a constant usage must be covered by its padded p99", ms)
	}
	if _, ok := n.Resources["io"]; ok {
		t.Fatal("io reported without a blkio hierarchy")
	}
}

//go:build browser

package agent

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/chromedp/chromedp"
)

// TestUIInChromium opens the embedded UI of a three-server cluster with a
// workload in headless Chromium (driven by chromedp): the page loads with
// no outside resource, the epoch advances live, each chart carries the
// allocation, forecast and usage the API serves for its epochs, units are
// shown (and "unlimited" for 0), the Raft peers and the boost's reason are
// there, and an explanation opens. Screenshots: e2e/out/ui-*.png. Run with
// `make browser`.
func TestUIInChromium(t *testing.T) {
	var browser string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium not installed (apt-get install chromium): skipping the browser suite")
	}
	out := outDir(t)
	rs := obsCluster(t)
	c := rs[0].client()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// greedy's minimum is above any node's capacity: a plan problem.
	greedy := bidding.Service{Name: "greedy", Class: bidding.ClassBatch, Min: bidding.Vec{1 << 20}}
	go func() { defer close(done); driveWorkload(ctx, t, c, []string{"n1", "n2", "n3"}, greedy) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor(t, "web registered", 30*time.Second, func() bool { _, err := c.Service(ctx, "web"); return err == nil })
	if err := c.Boost(ctx, "web", api.BoostRequest{Factor: 2, TTL: "1h", Reason: "sla: checkout p99 above 500ms"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "four epochs of web's usage", 60*time.Second, func() bool {
		var v api.ForecastView
		if _, err := c.Do(ctx, "GET", "/v1/forecast/web", nil, &v); err != nil || len(v.Nodes) == 0 {
			return false
		}
		return len(v.Nodes[0].Resources["cpu"].Points) >= 4
	})

	actx, acancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000))...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 3*time.Minute)
	defer tcancel()

	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+rs[1].http+"/"), chromedp.WaitVisible(`#services svg.chart`)); err != nil {
		t.Fatalf("loading the UI: %v", err)
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return s
	}
	epoch := func() int {
		n, _ := strconv.Atoi(eval(`document.getElementById("epoch").dataset.epoch || "0"`))
		return n
	}

	// Live: the epoch shown advances without a reload.
	first := epoch()
	waitFor(t, "the page's epoch to advance", 30*time.Second, func() bool { return epoch() > first+1 })

	// Offline: every resource the page loaded came from the agent.
	if ext := eval(`performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith(location.origin)).join(" ")`); ext != "" {
		t.Errorf("the page loaded outside resources: %s", ext)
	}

	// The charts carry what the API serves, epoch by epoch.
	hist, err := c.AllocationHistory(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var fc api.ForecastView
	if _, err := c.Do(ctx, "GET", "/v1/forecast/web", nil, &fc); err != nil {
		t.Fatal(err)
	}
	lastEpoch := hist.Epochs[len(hist.Epochs)-1]
	for _, res := range []string{"cpu", "memory"} {
		want := map[string]map[uint64]int64{"alloc": {}, "actual": {}, "p50": {}, "p90": {}, "p99": {}}
		for _, p := range hist.Points {
			if p.Node == "n1" {
				want["alloc"][p.Epoch] = map[string]int64{"cpu": p.CPU, "memory": p.Memory}[res]
			}
		}
		for _, n := range fc.Nodes {
			if n.Node != "n1" {
				continue
			}
			for _, p := range n.Resources[res].Points {
				want["actual"][p.Epoch] = p.Actual
				if p.P50 != nil {
					want["p50"][p.Epoch], want["p90"][p.Epoch], want["p99"][p.Epoch] = *p.P50, *p.P90, *p.P99
				}
			}
		}
		title := "n1 · " + res
		var chart map[string]string
		sel := `document.querySelector('.service[data-service="web"] svg.chart[data-title="` + title + `"]')`
		if err := json.Unmarshal([]byte(eval(`(() => { const s = `+sel+`; if (!s) return "{}";
		const o = {}; for (const c of ["alloc", "actual", "p50", "p90", "p99"]) o[c] = s.querySelector("polyline." + c).dataset.points; return JSON.stringify(o); })()`)), &chart); err != nil {
			t.Fatal(err)
		}
		// Past epochs never change, so each point the chart has must be the
		// API's (the page may already show a newer epoch than was read).
		for series, api := range want {
			pts := parsePoints(t, chart[series])
			if len(pts) < 3 {
				t.Errorf("chart %s, %s: %d points (%q), want at least 3", title, series, len(pts), chart[series])
			}
			for e, v := range pts {
				if w, ok := api[e]; ok && w != v {
					t.Errorf("chart %s, %s at epoch %d: %d, the API says %d", title, series, e, v, w)
				} else if !ok && e <= lastEpoch && series == "alloc" {
					t.Errorf("chart %s, %s at epoch %d: %d, the API has none", title, series, e, v)
				}
			}
		}
	}

	waitFor(t, "the plan problems on the page", 30*time.Second, func() bool {
		return strings.Contains(eval(`document.getElementById("problems").innerText`), "greedy")
	})
	body := eval(`document.body.innerText`)
	for _, want := range []string{"millicores", "MiB", "kbit/s", "unlimited", "sla: checkout p99 above 500ms", "leader"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	for _, bad := range []string{"0B", "e+0", "NaN", "undefined"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page shows %q", bad)
		}
	}
	if n := eval(`String(document.querySelectorAll("#peers tbody tr").length) + " " + String([...document.querySelectorAll("#peers tbody tr")].filter(r => r.innerText.includes("leader")).length)`); n != "3 1" {
		t.Errorf("raft peers rows, leaders: %s, want 3 1", n)
	}
	if n := eval(`String(document.querySelectorAll("#members tbody tr").length)`); n != "3" {
		t.Errorf("member rows: %s", n)
	}
	shot(t, bctx, filepath.Join(out, "ui-overview.png"))

	// The page re-renders on every plan: click through the DOM of the moment
	// (a node chromedp found may be gone by the time it clicks).
	eval(`document.querySelector('.service[data-service="web"] details summary').click(); ""`)
	waitFor(t, "web's explanation", 30*time.Second, func() bool {
		return eval(`String(!!document.querySelector('.service[data-service="web"] .explain table'))`) == "true"
	})
	// Utility per unit reads per core and per GiB, not per millicore or byte.
	if ex := eval(`document.querySelector('.service[data-service="web"] .explain').innerText`); !strings.Contains(ex, "boost ×") || !strings.Contains(ex, "per core") || strings.Contains(ex, "e-") {
		t.Errorf("explanation: %q", ex)
	}
	shot(t, bctx, filepath.Join(out, "ui-explain.png"))
}

// parsePoints reads a chart series' data-points ("epoch:value ...").
func parsePoints(t *testing.T, s string) map[uint64]int64 {
	t.Helper()
	out := map[uint64]int64{}
	for _, f := range strings.Fields(s) {
		e, v, ok := strings.Cut(f, ":")
		ep, err1 := strconv.ParseUint(e, 10, 64)
		val, err2 := strconv.ParseInt(v, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad chart point %q in %q", f, s)
		}
		out[ep] = val
	}
	return out
}

func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

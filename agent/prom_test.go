//go:build prom

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPrometheusScrapesCluster runs a real Prometheus (Debian package
// `prometheus`) against three in-process servers and checks, through
// Prometheus' own HTTP API, that Allot's series exist and are sane, that
// the alert rules load and evaluate, and that every query of the Grafana
// dashboard returns data. Run with `make prom`.
func TestPrometheusScrapesCluster(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus): skipping the Prometheus suite")
	}
	root := repoRoot(t)
	rules := filepath.Join(root, "deploy", "prometheus", "alerts.yml")
	checkRulesWithPromtool(t, root)

	rs := obsCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); driveWorkload(ctx, t, rs[0].client(), []string{"n1", "n2", "n3"}) }()
	t.Cleanup(func() { cancel(); <-done })

	dir := t.TempDir()
	var targets []string
	for _, r := range rs {
		targets = append(targets, strconv.Quote(r.http))
	}
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: allot
    static_configs: [{targets: [%s]}]
`, rules, strings.Join(targets, ", "))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var logs lockedBuffer
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	p := promAPI{t: t, base: "http://" + addr}
	waitFor(t, "Prometheus to be ready", 60*time.Second, func() bool {
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	waitFor(t, "Prometheus to scrape 3 servers (up == 1)", 90*time.Second, func() bool { return p.scalar(`count(up{job="allot"} == 1)`) == 3 })
	waitFor(t, "exactly one leader among the scraped servers", 60*time.Second, func() bool { return p.scalar(`sum(allot_raft_is_leader{job="allot"})`) == 1 })
	exist := []string{
		"allot_allocation_cpu_cores", "allot_allocation_memory_bytes", "allot_allocation_net_bytes_per_second",
		"allot_node_capacity_cpu_cores", `allot_forecast_cpu_cores{percentile="p99"}`, "allot_usage_memory_bytes",
		"allot_forecast_coverage_ratio", "allot_plan_solve_duration_seconds_bucket", "allot_http_request_duration_seconds_bucket",
		"allot_plan_created_timestamp_seconds", "allot_epoch_length_seconds", "allot_state_divergences_total",
		"go_goroutines", "process_resident_memory_bytes", `{__name__=~"raft_.+"}`, `{__name__=~"memberlist_.+"}`,
	}
	for _, q := range exist {
		waitFor(t, "series "+q, 60*time.Second, func() bool { return len(p.query("count("+q+")")) > 0 })
	}
	// Let a few epochs of coverage accumulate, then check sanity.
	start := p.scalar(`max(allot_plan_epoch)`)
	waitFor(t, "five more epochs", 60*time.Second, func() bool { return p.scalar(`max(allot_plan_epoch)`) >= start+5 })
	for _, c := range []struct{ what, q string }{
		{"cpu allocated above a node's capacity", `sum by (instance, node) (allot_allocation_cpu_cores) > on (instance, node) allot_node_capacity_cpu_cores`},
		{"memory allocated above a node's capacity", `sum by (instance, node) (allot_allocation_memory_bytes) > on (instance, node) allot_node_capacity_memory_bytes`},
		{"coverage outside [0, 1]", `allot_forecast_coverage_ratio < 0 or allot_forecast_coverage_ratio > 1`},
		{"p50 above p90", `allot_forecast_cpu_cores{percentile="p50"} > ignoring (percentile) allot_forecast_cpu_cores{percentile="p90"}`},
		{"p90 above p99", `allot_forecast_cpu_cores{percentile="p90"} > ignoring (percentile) allot_forecast_cpu_cores{percentile="p99"}`},
		{"a negative allocation", `allot_allocation_cpu_cores < 0 or allot_allocation_memory_bytes < 0`},
		{"servers more than 3 plans apart", `max(allot_plan_epoch) - min(allot_plan_epoch) > 3`},
		{"cpu in millicores, not cores (above 1024 cores)", `allot_allocation_cpu_cores > 1024 or allot_usage_cpu_cores > 1024`},
		{"a firing AllotNoLeader or AllotReplicasDiverged", `ALERTS{alertname=~"AllotNoLeader|AllotReplicasDiverged",alertstate="firing"}`},
	} {
		if got := p.query(c.q); len(got) > 0 {
			t.Errorf("%s: %s = %v", c.what, c.q, got)
		}
	}
	if n := p.scalar(`count(allot_forecast_coverage_ratio{service="web"})`); n < 3 {
		t.Errorf("coverage series of web: %v, want one per node, resource and percentile", n)
	}
	checkRulesLoaded(t, p)
	checkDashboardQueries(t, p, root)
	checkExposition(t, rs[0].http)
}

// promAPI queries Prometheus' HTTP API.
type promAPI struct {
	t    *testing.T
	base string
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (p promAPI) get(path string, out any) error {
	resp, err := http.Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// query runs an instant query; an error (Prometheus not up yet, a bad
// expression) is logged and answers nothing.
func (p promAPI) query(q string) []promSample {
	var ans struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(q), &ans); err != nil {
		p.t.Logf("query %s: %v", q, err)
		return nil
	}
	return ans.Data.Result
}

// scalar is the value of a one-sample query (-1 when there is none).
func (p promAPI) scalar(q string) float64 {
	res := p.query(q)
	if len(res) != 1 {
		return -1
	}
	s, _ := res[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return v
}

func checkRulesWithPromtool(t *testing.T, root string) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: alert rules not checked by promtool")
		return
	}
	dir := filepath.Join(root, "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}, {"check", "config", "prometheus.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// checkRulesLoaded: Prometheus loaded every rule of alerts.yml and
// evaluated each without error.
func checkRulesLoaded(t *testing.T, p promAPI) {
	var ans struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	var names []string
	waitFor(t, "alert rules evaluated", 30*time.Second, func() bool {
		names = nil
		if err := p.get("/api/v1/rules", &ans); err != nil {
			return false
		}
		for _, g := range ans.Data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					if r.Health == "err" {
						t.Errorf("rule %s: %s", r.Name, r.LastError)
					}
					return false
				}
				names = append(names, r.Name)
			}
		}
		return len(names) > 0
	})
	for _, want := range []string{"AllotNoLeader", "AllotPlanStale", "AllotCoverageFarFromNominal", "AllotReplicasDiverged"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("rule %s not loaded (have %v)", want, names)
		}
	}
}

// checkDashboardQueries runs every query of the Grafana dashboard (its
// variables filled in) and wants data from each.
func checkDashboardQueries(t *testing.T, p promAPI, root string) {
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "allot-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	fill := strings.NewReplacer("$job", "allot", "$service", "web", "$__rate_interval", "30s")
	n := 0
	for _, pn := range dash.Panels {
		for _, tg := range pn.Targets {
			q := fill.Replace(tg.Expr)
			n++
			if len(p.query(q)) == 0 {
				t.Errorf("dashboard panel %q: no data for %s", pn.Title, q)
			}
		}
	}
	if n < 20 {
		t.Errorf("dashboard has %d queries", n)
	}
}

// checkExposition: promtool's linter finds nothing in Allot's own
// families (the libraries' raft_* and memberlist_* names are theirs).
func checkExposition(t *testing.T, httpAddr string) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		return
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, _ := cmd.CombinedOutput()
	var other int
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "allot_"):
			t.Errorf("promtool check metrics: %s", l)
		case strings.TrimSpace(l) != "":
			other++
		}
	}
	t.Logf("promtool check metrics: %d remarks on library families (raft_*, memberlist_*), none on allot_*", other)
}

package config

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.hcl")
	os.WriteFile(f, []byte(`
node_name = "from-file"
data_dir  = "/tmp/x"
server { enabled = true  bootstrap_expect = 3  epoch = "1m" }
client { enabled = true  enforce = "none"  capacity { cpu = "4"  memory = "8GiB" } }
service "checkout" {
  class = "critical"
  min { cpu = "250m"  memory = "256MiB" }
  max { cpu = "4"  memory = "8GiB"  io = "200MiB/s"  net = "500Mbit" }
}
`), 0o644)
	c, err := Load([]string{"--config", f, "--epoch", "10s"}, env(map[string]string{"ALLOT_NODE": "from-env", "ALLOT_EPOCH": "30s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "from-env" || c.Epoch != 10*time.Second || !c.Server || c.BootstrapExpect != 3 || c.Enforce != "none" {
		t.Fatalf("precedence wrong: %+v", c)
	}
	if c.Capacity[bidding.CPU] != 4000 || c.Capacity[bidding.Memory] != 8<<30 {
		t.Fatalf("capacity %v", c.Capacity)
	}
	if len(c.Services) != 1 || c.Services[0].Max[bidding.Net] != 500e6 || c.Services[0].Max[bidding.IO] != 200<<20 || c.Services[0].Min[bidding.CPU] != 250 {
		t.Fatalf("service %+v", c.Services)
	}
}

func TestJSONConfigSameKeys(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.json")
	os.WriteFile(f, []byte(`{"node_name":"j","data_dir":"/tmp/j","server":{"enabled":true,"epoch":"2s"}}`), 0o644)
	c, err := Load([]string{"--config", f}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "j" || c.Epoch != 2*time.Second {
		t.Fatalf("%+v", c)
	}
}

func TestInvalidValuesNameTheKey(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(bad, []byte(`server { epoch = "soon" }`), 0o644)
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--server", "--data-dir", "d", "--epoch", "abc"}, nil, "flag --epoch"},
		{[]string{"--server", "--data-dir", "d", "--epoch", "1ms"}, nil, "flag --epoch"},
		{[]string{"--server", "--data-dir", "d", "--enforce", "maybe"}, nil, "flag --enforce"},
		{[]string{"--server", "--data-dir", "d", "--bind", "not-ip"}, nil, "flag --bind"},
		{[]string{"--server", "--data-dir", "d", "--http-addr", "x"}, nil, "flag --http-addr"},
		{[]string{"--server", "--data-dir", "d", "--raft-port", "70000"}, nil, "flag --raft-port"},
		{[]string{"--server", "--data-dir", "d", "--encrypt", "short"}, nil, "flag --encrypt"},
		{[]string{"--server", "--data-dir", "d", "--bootstrap-expect", "-1"}, nil, "flag --bootstrap-expect"},
		{[]string{"--server"}, nil, "data_dir"},
		{[]string{"--client", "--data-dir", "d", "--bootstrap-expect", "3"}, nil, "bootstrap-expect"},
		{[]string{"--server", "--data-dir", "d"}, map[string]string{"ALLOT_GOSSIP_PORT": "x"}, "ALLOT_GOSSIP_PORT"},
		{[]string{"--server", "--data-dir", "d", "--config", bad}, nil, "server.epoch in bad.hcl"},
		{[]string{"--data-dir", "d"}, nil, "--server"},
		{[]string{"--server", "--data-dir", "d", "--tls-ca", "/nonexistent"}, nil, "flag --tls-ca"},
		{[]string{"--server", "--data-dir", "d", "--log-level", "loud"}, nil, "flag --log-level"},
	}
	for _, c := range cases {
		_, err := Load(c.args, env(c.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want one naming %q", c.args, c.env, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error spans lines: %q", c.args, err)
		}
	}
}

func TestDevDefaults(t *testing.T) {
	c, err := Load([]string{"--dev"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Server || !c.Client || c.Enforce != "none" || c.Epoch >= time.Minute || c.BootstrapExpect != 1 {
		t.Fatalf("%+v", c)
	}
}

func TestQuantities(t *testing.T) {
	cases := []struct {
		r    bidding.Resource
		in   string
		want int64
		bad  bool
	}{
		{bidding.CPU, "250m", 250, false},
		{bidding.CPU, "1.5", 1500, false},
		{bidding.CPU, "2", 2000, false},
		{bidding.Memory, "256MiB", 256 << 20, false},
		{bidding.Memory, "1G", 1e9, false},
		{bidding.Memory, "1024", 1024, false},
		{bidding.IO, "200MiB/s", 200 << 20, false},
		{bidding.Net, "500Mbit", 500e6, false},
		{bidding.Net, "1Gbit", 1e9, false},
		{bidding.CPU, "-1", 0, true},
		{bidding.CPU, "abc", 0, true},
		{bidding.Memory, "1e400", 0, true},
		{bidding.Memory, "99999999999TiB", 0, true},
		{bidding.Net, "", 0, true},
	}
	for _, c := range cases {
		got, err := ParseQuantity(c.r, c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%v %q: accepted as %d", c.r, c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%v %q: %d, %v; want %d", c.r, c.in, got, err, c.want)
		}
	}
}

func TestParseServices(t *testing.T) {
	svcs, err := ParseServices("s.hcl", []byte(`service "web" { class = "critical" }`))
	if err != nil || len(svcs) != 1 || svcs[0].Class != "critical" {
		t.Fatalf("%+v %v", svcs, err)
	}
	for _, bad := range []string{`service "web" { class = "vip" }`, `service "web" { min { cpu = "lots" } }`, `nothing = 1`, `service "bad name" {}`} {
		if _, err := ParseServices("s.hcl", []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseServices(f *testing.F) {
	f.Add([]byte(`service "web" { class = "critical"  min { cpu = "250m" } }`))
	f.Add([]byte(`{"service":{"web":{"class":"batch"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		svcs, err := ParseServices("f.hcl", b)
		if err != nil {
			return
		}
		for _, s := range svcs {
			if err := s.Validate(); err != nil {
				t.Fatalf("invalid service returned: %v", err)
			}
		}
	})
}

func TestUnavailableSecurityIsRefused(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x.pem")
	os.WriteFile(f, []byte("x"), 0o600)
	_, err := Load([]string{"--server", "--data-dir", "d", "--tls-ca", f, "--tls-cert", f, "--tls-key", f}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "flag --tls-ca") {
		t.Fatalf("TLS settings silently accepted: %v", err)
	}
}

func TestSolverBlock(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "solver.hcl")
	os.WriteFile(good, []byte(`
data_dir = "/tmp/s"
server {
  enabled = true
  solver {
    headroom  = 0.1
    share_cap = 0.25
    deadband  = 0
    explain   = false
    reserve { cpu = "500m"  memory = "1GiB" }
    budget  { cpu = "800"   net = "40Gbit" }
  }
}
`), 0o644)
	c, err := Load([]string{"--config", good}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Solver
	if o.HeadroomFrac != 0.1 || o.ShareCap != 0.25 || o.Deadband != 0 || o.BoostCapFrac != 0.3 || !o.SkipExplain ||
		o.Reserve[bidding.CPU] != 500 || o.Reserve[bidding.Memory] != 1<<30 || o.Budget[bidding.CPU] != 800_000 || o.Budget[bidding.Net] != 40e9 {
		t.Fatalf("solver options %+v", o)
	}
	d, err := Load([]string{"--server", "--data-dir", "d"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.Solver != bidding.DefaultOptions() {
		t.Fatalf("default solver options %+v, want %+v", d.Solver, bidding.DefaultOptions())
	}
	for _, tc := range []struct{ body, want string }{
		{`server { solver { share_cap = 1.5 } }`, "share_cap"},
		{`server { solver { headroom = -0.1 } }`, "headroom_frac"},
		{`server { solver { budget { cpu = "lots" } } }`, "server.solver.budget"},
		{`server { solver { unknown = 1 } }`, "unknown"},
	} {
		f := filepath.Join(dir, "bad.hcl")
		os.WriteFile(f, []byte(tc.body), 0o644)
		_, err := Load([]string{"--server", "--data-dir", "d", "--config", f}, nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.body, err, tc.want)
		}
	}
}

func TestForecastRegressors(t *testing.T) {
	svcs, err := ParseServices("s.hcl", []byte(`service "shop" { class = "standard"
  forecast { model = "auto"  horizon = 12  interval = "5m"  regressors = ["temperature", "black_friday"] } }`))
	if err != nil || len(svcs) != 1 || !slices.Equal(svcs[0].Forecast.Regressors, []string{"temperature", "black_friday"}) {
		t.Fatalf("%+v %v", svcs, err)
	}
	for bad, want := range map[string]string{
		`service "s" { forecast { regressors = ["bad name"] } }`:  "forecast.regressors[0]",
		`service "s" { forecast { regressors = ["t", "t"] } }`:    "appears twice",
		`service "s" { forecast { regressors = "temperature" } }`: "list of string",
	} {
		if _, err := ParseServices("s.hcl", []byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %q", bad, err, want)
		}
	}
}

func TestPlanHistoryBytes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body string
		want       int64
		err        string
	}{
		{"default", `server { enabled = true }`, DefaultPlanHistoryBytes, ""},
		{"iec", `server { plan_history_bytes = "128MiB" }`, 128 << 20, ""},
		{"number", `server { plan_history_bytes = 2097152 }`, 2 << 20, ""},
		{"json", `{"server": {"plan_history_bytes": "1GiB"}}`, 1 << 30, ""},
		{"not a size", `server { plan_history_bytes = "lots" }`, 0, "server.plan_history_bytes in"},
		{"too small", `server { plan_history_bytes = "4KiB" }`, 0, "server.plan_history_bytes in"},
		{"too large", `server { plan_history_bytes = "2TiB" }`, 0, "outside 1MiB to 1TiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ext := ".hcl"
			if strings.HasPrefix(c.body, "{") {
				ext = ".json"
			}
			f := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+ext)
			if err := os.WriteFile(f, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load([]string{"--server", "--data-dir", "d", "--config", f}, nil, io.Discard)
			switch {
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one naming %q", err, c.err)
				}
			case err != nil:
				t.Fatal(err)
			case cfg.PlanHistoryBytes != c.want:
				t.Fatalf("plan_history_bytes %d, want %d", cfg.PlanHistoryBytes, c.want)
			}
		})
	}
}

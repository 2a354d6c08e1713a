package config

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func TestSLABlockGood(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      bidding.SLASpec
	}{
		{"contract example", `service "checkout" {
  sla { error_rate_above = 0.05  latency_p99_above = "300ms"  probe = "http://127.0.0.1:8080/stats" }
}`, bidding.SLASpec{ErrorRateAbove: 0.05, LatencyP99Above: "300ms", Probe: "http://127.0.0.1:8080/stats"}},
		{"metric with selector and boost", `service "checkout" {
  sla {
    probe        = "https://checkout.internal:9100/metrics"
    metric       = "http_p99_seconds{route=\"/pay\"}"
    metric_above = 0.5
    boost_factor = 3
    boost_epochs = 6
  }
}`, bidding.SLASpec{Probe: "https://checkout.internal:9100/metrics", Metric: `http_p99_seconds{route="/pay"}`, MetricAbove: 0.5, BoostFactor: 3, BoostEpochs: 6}},
		{"boost only (kernel pressure)", `service "checkout" {
  sla { boost_factor = 1.5 }
}`, bidding.SLASpec{BoostFactor: 1.5}},
		{"json form, same keys", `{"service":{"checkout":{"sla":{"probe":"http://[::1]:8080/h","latency_p99_above":"250ms","boost_epochs":100}}}}`,
			bidding.SLASpec{Probe: "http://[::1]:8080/h", LatencyP99Above: "250ms", BoostEpochs: 100}},
		{"json metric", `{"service":{"checkout":{"sla":{"probe":"http://localhost:9100/metrics","metric":"up","metric_above":0}}}}`,
			bidding.SLASpec{Probe: "http://localhost:9100/metrics", Metric: "up"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svcs, err := ParseServices("s.hcl", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := svcs[0].SLA; got == nil || *got != tc.want {
				t.Fatalf("sla = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSLABlockBadNamesTheKey(t *testing.T) {
	for _, tc := range []struct{ sla, key, also string }{
		{`probe = "ftp://x/y"  latency_p99_above = "1s"`, "sla.probe", "http"},
		{`probe = "http:///nohost"  latency_p99_above = "1s"`, "sla.probe", "no host"},
		{`probe = "/health"  latency_p99_above = "1s"`, "sla.probe", "http"},
		{`probe = "http://169.254.169.254/latest/meta-data/"  latency_p99_above = "1s"`, "sla.probe", "metadata"},
		{`probe = "http://[fe80::1]:80/"  latency_p99_above = "1s"`, "sla.probe", "link-local"},
		{`probe = "http://[::ffff:169.254.1.1]/"  latency_p99_above = "1s"`, "sla.probe", "link-local"},
		{`probe = "http://metadata.google.internal/"  latency_p99_above = "1s"`, "sla.probe", "metadata"},
		{`probe = "http://2852039166/"  latency_p99_above = "1s"`, "sla.probe", "dotted-quad"},
		{`probe = "http://u:p@host/"  latency_p99_above = "1s"`, "sla.probe", "credentials"},
		{`probe = "http://host:99999/"  latency_p99_above = "1s"`, "sla.probe", "port"},
		{`probe = "http://host/"`, "sla.probe", "threshold"},
		{`latency_p99_above = "1s"`, "sla.probe", "required"},
		{`probe = "http://host/"  latency_p99_above = "soon"`, "sla.latency_p99_above", "duration"},
		{`probe = "http://host/"  latency_p99_above = "-1s"`, "sla.latency_p99_above", "outside"},
		{`probe = "http://host/"  latency_p99_above = "2h"`, "sla.latency_p99_above", "outside"},
		{`probe = "http://host/"  error_rate_above = 1.5`, "sla.error_rate_above", "outside"},
		{`probe = "http://host/"  error_rate_above = -0.1`, "sla.error_rate_above", "outside"},
		{`probe = "http://host/m"  metric = "9bad"`, "sla.metric", "metric name"},
		{`probe = "http://host/m"  metric = "m{route=/pay}"`, "sla.metric", "double quotes"},
		{`probe = "http://host/m"  metric = "m{a=\"1\",a=\"2\"}"`, "sla.metric", "twice"},
		{`metric = "up"`, "sla.metric", "sla.probe"},
		{`probe = "http://host/m"  metric = "up"  latency_p99_above = "1s"`, "sla.latency_p99_above", "metric"},
		{`probe = "http://host/m"  metric_above = 3  latency_p99_above = "1s"`, "sla.metric_above", "without sla.metric"},
		{`boost_factor = 0.5`, "sla.boost_factor", "outside"},
		{`boost_factor = 11`, "sla.boost_factor", "outside"},
		{`boost_factor = 0`, "sla.boost_factor", "outside"},
		{`boost_epochs = 0`, "sla.boost_epochs", "outside"},
		{`boost_epochs = 101`, "sla.boost_epochs", "outside"},
		{`boost_epochs = -1`, "sla.boost_epochs", "outside"},
		{`colour = "red"`, "colour", "nsupported argument"},
	} {
		_, err := ParseServices("s.hcl", []byte(`service "checkout" { sla { `+tc.sla+` } }`))
		if err == nil {
			t.Errorf("%s: accepted", tc.sla)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.key) || !strings.Contains(msg, tc.also) {
			t.Errorf("%s: error %q does not name %q with %q", tc.sla, msg, tc.key, tc.also)
		}
		if tc.key != "colour" && !strings.Contains(msg, `service "checkout"`) {
			t.Errorf("%s: error %q does not name the service", tc.sla, msg)
		}
	}
}

// An agent config's services go through the same checks (Config.Validate
// uses ValidateNew), and the JSON form takes the same keys.
func TestSLAInAgentConfig(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.json")
	os.WriteFile(f, []byte(`{"node_name":"j","data_dir":"/tmp/j","service":{"web":{"sla":{"probe":"http://169.254.169.254/","latency_p99_above":"1s"}}}}`), 0o644)
	_, err := Load([]string{"--config", f}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `service "web"`) || !strings.Contains(err.Error(), "sla.probe") {
		t.Fatalf("err = %v", err)
	}
}

// The service's JSON (what the API and the FSM carry) keeps snake_case
// keys and leaves unset sla keys out.
func TestSLAJSONKeys(t *testing.T) {
	s := bidding.SLASpec{Probe: "http://h/m", Metric: "up", MetricAbove: 0.5, BoostFactor: 3, BoostEpochs: 4}
	b, _ := json.Marshal(s)
	if got, want := string(b), `{"probe":"http://h/m","metric":"up","metric_above":0.5,"boost_factor":3,"boost_epochs":4}`; got != want {
		t.Fatalf("json %s, want %s", got, want)
	}
	b, _ = json.Marshal(bidding.SLASpec{LatencyP99Above: "300ms", Probe: "http://h/"})
	if got, want := string(b), `{"latency_p99_above":"300ms","probe":"http://h/"}`; got != want {
		t.Fatalf("json %s, want %s", got, want)
	}
}

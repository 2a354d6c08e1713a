package sla

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

func TestNewProbeNone(t *testing.T) {
	p, err := NewProbe(bidding.SLASpec{BoostFactor: 3}, nil)
	if p != nil || err != nil {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := NewProbe(bidding.SLASpec{Probe: "http://169.254.169.254/", LatencyP99Above: "1s"}, nil); err == nil || !strings.Contains(err.Error(), "sla.probe") {
		t.Fatalf("metadata probe built: %v", err)
	}
}

// A server that turns slow: fine first, then a p99 breach naming the figures.
func TestHTTPProbeTurnsSlow(t *testing.T) {
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(300 * time.Millisecond)
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()
	p, err := NewProbe(bidding.SLASpec{Probe: srv.URL + "/health", LatencyP99Above: "200ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Check(context.Background())
	if r.Breach || r.Err != nil {
		t.Fatalf("fast server: %+v", r)
	}
	slow.Store(true)
	r = p.Check(context.Background())
	if !r.Breach || r.Err != nil || !strings.Contains(r.Reason, "probe "+srv.URL+"/health p99 ") || !strings.Contains(r.Reason, "> 200ms") {
		t.Fatalf("slow server: %+v", r)
	}
	// Slower than the per-request timeout (2 × 50ms): still a latency breach.
	p2, _ := NewProbe(bidding.SLASpec{Probe: srv.URL + "/health", LatencyP99Above: "50ms"}, nil)
	start := time.Now()
	r = p2.Check(context.Background())
	if !r.Breach || !strings.Contains(r.Reason, "> 50ms") || !strings.Contains(r.Reason, "p99 100ms") {
		t.Fatalf("timed-out server: %+v", r)
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Fatalf("check took %v; requests should be bounded by 100ms and run together", el)
	}
}

func TestHTTPProbeErrorRate(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 < 3 { // 3 of every 5 fail
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNotFound) // < 500: not a failure
	}))
	defer srv.Close()
	p, err := NewProbe(bidding.SLASpec{Probe: srv.URL, ErrorRateAbove: 0.05}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Check(context.Background())
	if !r.Breach || !strings.Contains(r.Reason, "error rate 0.60 > 0.05") || !strings.Contains(r.Reason, "503") {
		t.Fatalf("%+v", r)
	}
}

func TestHTTPProbeUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	// With an error-rate threshold a dead endpoint is a breach ...
	p, _ := NewProbe(bidding.SLASpec{Probe: url, ErrorRateAbove: 0.5}, nil)
	if r := p.Check(context.Background()); !r.Breach || !strings.Contains(r.Reason, "error rate 1.00 > 0.50") {
		t.Fatalf("%+v", r)
	}
	// ... with only a latency threshold it measured nothing: an error, not a breach.
	p, _ = NewProbe(bidding.SLASpec{Probe: url, LatencyP99Above: "1s"}, nil)
	if r := p.Check(context.Background()); r.Breach || r.Err == nil {
		t.Fatalf("%+v", r)
	}
}

func TestHTTPProbeCallerContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
	}))
	defer srv.Close()
	p, _ := NewProbe(bidding.SLASpec{Probe: srv.URL, ErrorRateAbove: 0.1}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if r := p.Check(ctx); r.Breach || r.Err == nil {
		t.Fatalf("caller's deadline should make the check unusable, not a breach: %+v", r)
	}
}

// The default client refuses link-local and metadata addresses after
// resolution, also when a redirect leads there.
func TestClientRefusesMetadata(t *testing.T) {
	for _, a := range []string{"169.254.169.254:80", "[fe80::1]:80", "[fd00:ec2::254]:80", "[::ffff:169.254.169.254]:80", "0.0.0.0:80"} {
		if err := dialControl("tcp", a, nil); err == nil {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"127.0.0.1:8080", "[::1]:80", "10.0.0.1:9100"} {
		if err := dialControl("tcp", a, nil); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	srv := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
	defer srv.Close()
	p, _ := NewProbe(bidding.SLASpec{Probe: srv.URL, ErrorRateAbove: 0.5}, nil)
	r := p.Check(context.Background())
	if !r.Breach || !strings.Contains(r.Reason, "probe refused") {
		t.Fatalf("%+v", r)
	}
}

const exposition = `# HELP http_p99_seconds p99 latency by route
# TYPE http_p99_seconds gauge
http_p99_seconds{route="/pay",code="200"} 0.91
http_p99_seconds{route="/pay",code="500"} 0.42 1700000000000
http_p99_seconds{route="/cart"} 0.12
queue_depth 17
summary_empty{quantile="0.99"} NaN
on_fire +Inf
`

func metricsServer(t *testing.T, body string, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMetricProbe(t *testing.T) {
	srv := metricsServer(t, exposition, 200)
	for _, tc := range []struct {
		metric string
		above  float64
		breach bool
		reason string // substring; "" with err
		err    string
	}{
		{`http_p99_seconds{route="/pay"}`, 0.5, true, `metric http_p99_seconds{route="/pay"}=0.91 > 0.5 (max of 2 series)`, ""},
		{`http_p99_seconds{route="/pay",code="500"}`, 0.5, false, `=0.42 <= 0.5`, ""},
		{`http_p99_seconds{route!="/pay"}`, 0.1, true, `=0.12 > 0.1`, ""},
		{`http_p99_seconds`, 1, false, `=0.91 <= 1 (max of 3 series)`, ""},
		{`queue_depth`, 10, true, `metric queue_depth=17 > 10`, ""},
		{`on_fire`, 1e9, true, `=+Inf > 1e+09`, ""},
		{`summary_empty`, 1, false, "", "NaN"},
		{`absent_metric`, 1, false, "", "absent"},
		{`http_p99_seconds{route="/nope"}`, 1, false, "", "absent"},
	} {
		p, err := NewProbe(bidding.SLASpec{Probe: srv.URL + "/metrics", Metric: tc.metric, MetricAbove: tc.above}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := p.Check(context.Background())
		if tc.err != "" {
			if r.Breach || r.Err == nil || !strings.Contains(r.Err.Error(), tc.err) {
				t.Errorf("%s: %+v, want error %q", tc.metric, r, tc.err)
			}
			continue
		}
		if r.Err != nil || r.Breach != tc.breach || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: %+v, want breach %v reason %q", tc.metric, r, tc.breach, tc.reason)
		}
	}
	for _, bad := range []*httptest.Server{metricsServer(t, "queue_depth seventeen\n", 200), metricsServer(t, exposition, 500), metricsServer(t, strings.Repeat("#", MaxMetricsBytes+1), 200)} {
		p, _ := NewProbe(bidding.SLASpec{Probe: bad.URL, Metric: "queue_depth", MetricAbove: 1}, nil)
		if r := p.Check(context.Background()); r.Breach || r.Err == nil {
			t.Errorf("bad endpoint: %+v", r)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	s, err := ParseMetrics([]byte(exposition))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 6 || s[0].Name != "http_p99_seconds" || s[0].label("code") != "200" || !math.IsNaN(s[4].Value) || !math.IsInf(s[5].Value, 1) {
		t.Fatalf("%+v", s)
	}
	ok := []string{
		"", "\n\n", "# just a comment\n", "a 1", "a{} 1", `a{b="c",} 1`, `a{b="x\"y\\z\n"} -Inf`, "a 1e-3 123", "a:b_c 0.5\n",
		"  a   2  ", "a -0", "a 1e999", // out of range reads as +Inf
	}
	for _, in := range ok {
		if _, err := ParseMetrics([]byte(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
	bad := []string{
		"a", "a\n", "1a 1", "a{b=c} 1", `a{b="c"`, `a{b="c" d="e"} 1`, `a{b="c",b="d"} 1`, `a{1b="c"} 1`,
		"a 1 2 3", "a 0x10", "a 1_000", "a infinity", "a 1 1.5", "a{b=\"\xff\"} 1", `a{b="\t"} 1`,
		"a 1\na 2", `a{x="1",y="2"} 1` + "\n" + `a{y="2",x="1"} 3`, "# TYPE a nonsense\n", "# TYPE a gauge\n# TYPE a gauge\n",
		"# TYPE 9a gauge\n", "a{b=\"c\nd\"} 1", "a1", "a{} 1 x",
	}
	for _, in := range bad {
		if _, err := ParseMetrics([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzMetrics(f *testing.F) {
	f.Add([]byte(exposition), `http_p99_seconds{route="/pay"}`)
	f.Add([]byte("a{b=\"c\\\"\"} NaN\n# TYPE a gauge\n"), `a{b!="c"}`)
	f.Add([]byte("a 1e999\nb -Inf 12\n"), "b")
	f.Fuzz(func(t *testing.T, data []byte, selector string) {
		samples, err := ParseMetrics(data)
		if err != nil {
			if samples != nil {
				t.Fatal("samples with an error")
			}
			return
		}
		for _, s := range samples {
			if !bidding.ValidMetricName(s.Name) || len(s.Labels) > maxLabels {
				t.Fatalf("accepted %+v", s)
			}
			for _, l := range s.Labels {
				if !bidding.ValidLabelName(l.Name) {
					t.Fatalf("accepted label %+v", l)
				}
			}
		}
		sel, err := bidding.ParseMetricSelector(selector)
		if err != nil {
			return
		}
		// The canonical form parses back to itself.
		if again, err := bidding.ParseMetricSelector(sel.String()); err != nil || again.String() != sel.String() {
			t.Fatalf("selector %q → %q → %v %v", selector, sel.String(), again, err)
		}
		v, n := Select(samples, sel)
		r := evalMetric(sel, 0.5, samples)
		switch {
		case n == 0:
			if r.Err == nil || r.Breach {
				t.Fatalf("absent metric: %+v", r)
			}
		case math.IsNaN(v):
			if r.Err == nil || r.Breach {
				t.Fatalf("NaN metric: %+v", r)
			}
		default:
			if r.Err != nil || r.Breach != (v > 0.5) {
				t.Fatalf("value %v: %+v", v, r)
			}
			for _, s := range samples {
				if s.Name == sel.Name && sel.Matches(s.label) && s.Value > v {
					t.Fatalf("Select %v is not the max (%v)", v, s.Value)
				}
			}
		}
	})
}

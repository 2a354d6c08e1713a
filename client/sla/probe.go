// Package sla decides when a client boosts a service on its own: SLA probes
// (an HTTP endpoint's latency and errors, or a Prometheus metric) and kernel
// pressure (CFS throttling, OOM kills, memory limit hits, PSI), behind a
// Gate that allows one boost per service per cooldown. It decides only; the
// client submits the boost and runs the probes. See DESIGN.md.
package sla

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Probe defaults.
const (
	ProbeRequests       = 5               // GETs per check of an HTTP probe
	DefaultProbeTimeout = 2 * time.Second // per request when no latency threshold is set
	maxProbeBody        = 64 << 10        // an HTTP probe reads at most this of a body
)

// Result is one check of a probe.
type Result struct {
	Breach bool   // the SLA is breached
	Reason string // why (breach) or what was measured (no breach); human-readable
	// Err is set when the probe could not measure (metric absent, endpoint
	// unreachable with no error-rate threshold, context ended): not a breach.
	Err error
}

// Probe checks one service's SLA. Check is safe to call concurrently and
// returns within ctx's deadline (plus a little for connections to close).
type Probe interface {
	Check(ctx context.Context) Result
}

// NewProbe builds the probe the spec describes: nil and no error when the
// spec has no probe. client nil means NewClient(); a caller's own client is
// used as given (it should refuse link-local addresses as NewClient does).
func NewProbe(spec bidding.SLASpec, client *http.Client) (Probe, error) {
	if spec.Probe == "" {
		return nil, nil
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	u, err := bidding.ParseProbeURL(spec.Probe)
	if err != nil {
		return nil, fmt.Errorf("sla.probe: %w", err)
	}
	if client == nil {
		client = NewClient()
	}
	if spec.Metric != "" {
		sel, err := bidding.ParseMetricSelector(spec.Metric)
		if err != nil {
			return nil, fmt.Errorf("sla.metric: %w", err)
		}
		return &metricProbe{url: u.String(), sel: sel, above: spec.MetricAbove, client: client}, nil
	}
	p := &httpProbe{url: u.String(), latency: spec.Latency(), errRate: spec.ErrorRateAbove, client: client, n: ProbeRequests}
	p.timeout = DefaultProbeTimeout
	if p.latency > 0 {
		p.timeout = 2 * p.latency
	}
	return p, nil
}

// NewClient is the HTTP client probes use by default: no proxy from the
// environment, at most 3 redirects, and a dialer that refuses link-local and
// metadata addresses after DNS resolution (a name in the config that
// resolves to 169.254.169.254 is refused as the literal is).
func NewClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: dialControl}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: ProbeRequests,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
			}
			return nil
		},
	}
}

// dialControl refuses a connection to an address ForbiddenProbeAddr names.
func dialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("probe: cannot check address %q: %v", address, err)
	}
	if why := bidding.ForbiddenProbeAddr(ap.Addr()); why != "" || ap.Addr().Zone() != "" {
		if why == "" {
			why = ap.Addr().String() + " has a zone (link-local)"
		}
		return fmt.Errorf("probe refused: %s", why)
	}
	return nil
}

// httpProbe sends n concurrent GETs per check.
type httpProbe struct {
	url     string
	latency time.Duration // 0: not checked
	errRate float64       // 0: not checked
	timeout time.Duration // per request
	client  *http.Client
	n       int
}

type attempt struct {
	took     time.Duration
	err      error // transport error, or status ≥ 500
	timedOut bool  // took is then exactly the timeout
}

func (p *httpProbe) Check(ctx context.Context) Result {
	out := make([]attempt, p.n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i] = p.get(ctx) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{Err: fmt.Errorf("probe %s: %w", p.url, err)}
	}
	var worst time.Duration
	failed, timedOut := 0, 0
	var firstErr error
	for _, a := range out {
		worst = max(worst, a.took)
		if a.timedOut {
			timedOut++
		}
		if a.err != nil {
			failed++
			if firstErr == nil {
				firstErr = a.err
			}
		}
	}
	rate := float64(failed) / float64(len(out))
	var res Result
	var reasons []string
	if p.latency > 0 && worst > p.latency {
		r := fmt.Sprintf("probe %s p99 %s > %s", p.url, roundMS(worst), p.latency)
		if timedOut > 0 {
			r += fmt.Sprintf(" (%d of %d timed out at %s)", timedOut, len(out), p.timeout)
		}
		reasons = append(reasons, r)
	}
	if p.errRate > 0 && rate > p.errRate {
		reasons = append(reasons, fmt.Sprintf("probe %s error rate %.2f > %.2f (%d of %d failed: %v)", p.url, rate, p.errRate, failed, len(out), firstErr))
	}
	switch {
	case len(reasons) > 0:
		res.Breach = true
		res.Reason = join(reasons)
	case failed == len(out):
		// Nothing measured and no error threshold to breach: the probe
		// itself is unusable (the service may be down or the URL wrong).
		res.Err = fmt.Errorf("probe %s: all %d requests failed: %v", p.url, failed, firstErr)
	default:
		res.Reason = fmt.Sprintf("probe %s p99 %s, error rate %.2f", p.url, roundMS(worst), rate)
	}
	return res
}

// get sends one GET and reads (a bounded part of) the body; a transport
// error or a timeout counts as taking the whole timeout.
func (p *httpProbe) get(ctx context.Context) attempt {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return attempt{took: p.timeout, err: err}
	}
	req.Header.Set("User-Agent", "allot-sla-probe")
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return attempt{took: p.timeout, err: shortErr(err), timedOut: true}
		}
		return attempt{took: time.Since(start), err: shortErr(err)}
	}
	_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	took := time.Since(start)
	if rerr != nil {
		if errors.Is(rerr, context.DeadlineExceeded) && ctx.Err() != nil {
			return attempt{took: p.timeout, err: shortErr(rerr), timedOut: true}
		}
		return attempt{took: took, err: shortErr(rerr)}
	}
	if resp.StatusCode >= 500 {
		return attempt{took: took, err: fmt.Errorf("status %s", resp.Status)}
	}
	return attempt{took: took}
}

// shortErr drops the "Get \"URL\": " prefix url.Error adds (the reason
// names the URL already).
func shortErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func roundMS(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// metricProbe reads one metric from a Prometheus text-format endpoint.
type metricProbe struct {
	url    string
	sel    bidding.MetricSelector
	above  float64
	client *http.Client
}

func (p *metricProbe) Check(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, DefaultProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return Result{Err: err}
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	req.Header.Set("User-Agent", "allot-sla-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return Result{Err: fmt.Errorf("metrics %s: %v", p.url, shortErr(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Result{Err: fmt.Errorf("metrics %s: status %s", p.url, resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetricsBytes+1))
	if err != nil {
		return Result{Err: fmt.Errorf("metrics %s: %v", p.url, shortErr(err))}
	}
	samples, err := ParseMetrics(body)
	if err != nil {
		return Result{Err: fmt.Errorf("metrics %s: %v", p.url, err)}
	}
	return evalMetric(p.sel, p.above, samples)
}

// evalMetric judges the selected value against the threshold.
func evalMetric(sel bidding.MetricSelector, above float64, samples []Sample) Result {
	v, n := Select(samples, sel)
	switch {
	case n == 0:
		return Result{Err: fmt.Errorf("metric %s is absent", sel)}
	case v != v: // NaN: no series has a value (e.g. a summary with no observations)
		return Result{Err: fmt.Errorf("metric %s is NaN in all %d matching series", sel, n)}
	}
	r := Result{Breach: v > above}
	op := "<="
	if r.Breach {
		op = ">"
	}
	r.Reason = fmt.Sprintf("metric %s=%s %s %s", sel, fmtFloat(v), op, fmtFloat(above))
	if n > 1 {
		r.Reason += fmt.Sprintf(" (max of %d series)", n)
	}
	return r
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

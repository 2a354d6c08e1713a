package bidding

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults and limits of the sla block.
const (
	DefaultSLABoostFactor = 2.0
	DefaultSLABoostEpochs = uint64(3)
	MaxSLABoostEpochs     = uint64(100)
	MaxSLALatency         = time.Minute // latency_p99_above at most this
	MaxProbeURLLen        = 2048
	MaxMetricSelectorLen  = 1024
)

// Factor is the boost factor a breach asks for (BoostFactor, or the default).
func (s *SLASpec) Factor() float64 {
	if s == nil || s.BoostFactor == 0 {
		return DefaultSLABoostFactor
	}
	return s.BoostFactor
}

// TTLEpochs is how many epochs a breach's boost lasts (BoostEpochs, or the default).
func (s *SLASpec) TTLEpochs() uint64 {
	if s == nil || s.BoostEpochs == 0 {
		return DefaultSLABoostEpochs
	}
	return s.BoostEpochs
}

// Latency is LatencyP99Above parsed (0 when unset or unparsable: Validate
// refuses the latter).
func (s *SLASpec) Latency() time.Duration {
	if s == nil || s.LatencyP99Above == "" {
		return 0
	}
	d, err := time.ParseDuration(s.LatencyP99Above)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// Validate checks an sla block on its own; the error names the field
// ("sla.probe: …"). It reads neither the network nor DNS: a probe host that
// is a name is checked again, after resolution, when the client dials it.
func (s *SLASpec) Validate() error {
	if s == nil {
		return nil
	}
	if math.IsNaN(s.ErrorRateAbove) || s.ErrorRateAbove < 0 || s.ErrorRateAbove > 1 {
		return fmt.Errorf("sla.error_rate_above: %v is outside [0, 1]", s.ErrorRateAbove)
	}
	if s.LatencyP99Above != "" {
		d, err := time.ParseDuration(s.LatencyP99Above)
		if err != nil {
			return fmt.Errorf("sla.latency_p99_above: %q is not a duration (e.g. 300ms)", s.LatencyP99Above)
		}
		if d <= 0 || d > MaxSLALatency {
			return fmt.Errorf("sla.latency_p99_above: %s is outside (0, %s]", s.LatencyP99Above, MaxSLALatency)
		}
	}
	if math.IsNaN(s.MetricAbove) || math.IsInf(s.MetricAbove, 0) {
		return fmt.Errorf("sla.metric_above: %v is not a finite number", s.MetricAbove)
	}
	if math.IsNaN(s.BoostFactor) || (s.BoostFactor != 0 && (s.BoostFactor < 1 || s.BoostFactor > MaxBoost)) {
		return fmt.Errorf("sla.boost_factor: %v is outside [1, %v] (0 or unset: %v)", s.BoostFactor, MaxBoost, DefaultSLABoostFactor)
	}
	if s.BoostEpochs > MaxSLABoostEpochs {
		return fmt.Errorf("sla.boost_epochs: %d is outside [1, %d] (0 or unset: %d)", s.BoostEpochs, MaxSLABoostEpochs, DefaultSLABoostEpochs)
	}
	if s.Metric != "" {
		if _, err := ParseMetricSelector(s.Metric); err != nil {
			return fmt.Errorf("sla.metric: %w", err)
		}
		if s.Probe == "" {
			return fmt.Errorf("sla.metric: needs sla.probe, the URL of the Prometheus metrics to read")
		}
		if s.LatencyP99Above != "" {
			return fmt.Errorf("sla.latency_p99_above: not used with sla.metric (the probe is then a metrics URL); use one or the other")
		}
		if s.ErrorRateAbove != 0 {
			return fmt.Errorf("sla.error_rate_above: not used with sla.metric (the probe is then a metrics URL); use one or the other")
		}
	} else {
		if s.MetricAbove != 0 {
			return fmt.Errorf("sla.metric_above: set without sla.metric")
		}
		if s.Probe == "" && (s.LatencyP99Above != "" || s.ErrorRateAbove != 0) {
			return fmt.Errorf("sla.probe: required with sla.latency_p99_above or sla.error_rate_above (the endpoint to measure)")
		}
		if s.Probe != "" && s.LatencyP99Above == "" && s.ErrorRateAbove == 0 {
			return fmt.Errorf("sla.probe: set without a threshold (sla.latency_p99_above, sla.error_rate_above, or sla.metric with sla.metric_above)")
		}
	}
	if s.Probe != "" {
		if _, err := ParseProbeURL(s.Probe); err != nil {
			return fmt.Errorf("sla.probe: %w", err)
		}
	}
	return nil
}

// forbiddenProbeNets are addresses a probe must never reach: link-local
// (where cloud instance metadata lives: 169.254.169.254, fe80::/10) and
// AWS's IPv6 metadata endpoint.
var forbiddenProbeNets = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

// ForbiddenProbeAddr reports why a probe must not connect to a (""
// when it may). The client's dialer calls it on every resolved address.
func ForbiddenProbeAddr(a netip.Addr) string {
	a = a.Unmap()
	for _, p := range forbiddenProbeNets {
		if p.Contains(a) {
			return fmt.Sprintf("%s is a link-local or cloud metadata address (%s)", a, p)
		}
	}
	switch {
	case a.IsUnspecified():
		return fmt.Sprintf("%s is the unspecified address", a)
	case a.IsMulticast():
		return fmt.Sprintf("%s is a multicast address", a)
	}
	return ""
}

// ParseProbeURL checks a probe URL: http or https, a host, no credentials
// (the URL is replicated to every server and shown by the API), and no
// literal address ForbiddenProbeAddr refuses.
func ParseProbeURL(raw string) (*url.URL, error) {
	if len(raw) > MaxProbeURLLen {
		return nil, fmt.Errorf("longer than %d characters", MaxProbeURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q is not an http or https URL", raw)
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("%q is not an http or https URL with a host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q carries credentials; they would be replicated and shown by the API", redact(u))
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is outside 1 to 65535", raw, p)
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, fmt.Errorf("%q: an address with a zone is link-local, which a probe may not reach", raw)
		}
		if why := ForbiddenProbeAddr(a); why != "" {
			return nil, fmt.Errorf("%q: %s, which a probe may not reach", raw, why)
		}
	} else if numericHost(host) {
		// 2852039166, 0xa9fea9fe, 0251.0376.0251.0376: forms some
		// resolvers read as addresses; refuse rather than guess.
		return nil, fmt.Errorf("%q: host %q is neither a dotted-quad address nor a name", raw, host)
	} else if h := strings.TrimSuffix(strings.ToLower(host), "."); h == "metadata.google.internal" || h == "metadata" {
		return nil, fmt.Errorf("%q: %q is a cloud metadata service, which a probe may not reach", raw, host)
	}
	return u, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = url.User("…")
	return c.String()
}

// numericHost reports whether every label of host is a number (decimal,
// octal or 0x hex): such a host is no DNS name.
func numericHost(host string) bool {
	for l := range strings.SplitSeq(host, ".") {
		if l == "" {
			return false
		}
		s := strings.TrimPrefix(strings.TrimPrefix(l, "0x"), "0X")
		if s == "" {
			return true
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
			if len(s) == len(l) && !('0' <= c && c <= '9') {
				return false // hex digits without 0x: a name such as "cafe"
			}
		}
	}
	return true
}

// LabelMatcher is one `name="value"` (or `name!="value"`) of a selector.
type LabelMatcher struct {
	Name  string
	Value string
	Not   bool
}

// MetricSelector is a metric name with optional label matchers, as in
// `http_p99_seconds{route="/pay",code!="200"}`.
type MetricSelector struct {
	Name   string
	Labels []LabelMatcher
}

// Matches reports whether a series with labels (a lookup function; ""
// for an absent label, as in Prometheus) is selected.
func (m MetricSelector) Matches(label func(name string) string) bool {
	for _, l := range m.Labels {
		if (label(l.Name) == l.Value) == l.Not {
			return false
		}
	}
	return true
}

// String writes the selector back in its canonical form.
func (m MetricSelector) String() string {
	if len(m.Labels) == 0 {
		return m.Name
	}
	var b strings.Builder
	b.WriteString(m.Name)
	b.WriteByte('{')
	for i, l := range m.Labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		if l.Not {
			b.WriteString("!=")
		} else {
			b.WriteByte('=')
		}
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// ValidMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func ValidMetricName(s string) bool { return validIdent(s, true) }

// ValidLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*.
func ValidLabelName(s string) bool { return validIdent(s, false) }

func validIdent(s string, colon bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case colon && c == ':':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return len(s) > 0
}

// ParseMetricSelector parses `name` or `name{label="value",label!="value"}`
// (values in double quotes with the text format's escapes \\ \" \n).
func ParseMetricSelector(s string) (MetricSelector, error) {
	var m MetricSelector
	if len(s) > MaxMetricSelectorLen {
		return m, fmt.Errorf("longer than %d characters", MaxMetricSelectorLen)
	}
	name, rest, braces := strings.Cut(s, "{")
	name = strings.TrimSpace(name)
	if !ValidMetricName(name) {
		return m, fmt.Errorf("%q: metric name %q does not match [a-zA-Z_:][a-zA-Z0-9_:]*", s, name)
	}
	m.Name = name
	if !braces {
		return m, nil
	}
	p := rest
	skip := func() { p = strings.TrimLeft(p, " \t") }
	for {
		skip()
		if strings.HasPrefix(p, "}") {
			p = p[1:]
			break
		}
		i := 0
		for i < len(p) && (p[i] == '_' || 'a' <= p[i] && p[i] <= 'z' || 'A' <= p[i] && p[i] <= 'Z' || i > 0 && '0' <= p[i] && p[i] <= '9') {
			i++
		}
		ln := p[:i]
		if !ValidLabelName(ln) {
			return m, fmt.Errorf("%q: expected a label name at %q", s, p)
		}
		p = p[i:]
		skip()
		var l LabelMatcher
		l.Name = ln
		switch {
		case strings.HasPrefix(p, "!="):
			l.Not, p = true, p[2:]
		case strings.HasPrefix(p, "="):
			p = p[1:]
		default:
			return m, fmt.Errorf("%q: expected = or != after label %q", s, ln)
		}
		skip()
		v, n, err := UnquoteLabelValue(p)
		if err != nil {
			return m, fmt.Errorf("%q: label %q: %v", s, ln, err)
		}
		l.Value, p = v, p[n:]
		for _, o := range m.Labels {
			if o.Name == ln {
				return m, fmt.Errorf("%q: label %q appears twice", s, ln)
			}
		}
		m.Labels = append(m.Labels, l)
		skip()
		if strings.HasPrefix(p, ",") {
			p = p[1:]
			continue
		}
		if !strings.HasPrefix(p, "}") {
			return m, fmt.Errorf("%q: expected , or } at %q", s, p)
		}
	}
	if strings.TrimSpace(p) != "" {
		return m, fmt.Errorf("%q: unexpected %q after }", s, p)
	}
	return m, nil
}

// UnquoteLabelValue reads a double-quoted label value at the start of p
// with the text format's escapes (\\, \", \n) and returns it and the bytes
// consumed (the selector here and the metrics parser in client/sla share it).
func UnquoteLabelValue(p string) (value string, n int, err error) {
	if !strings.HasPrefix(p, `"`) {
		return "", 0, fmt.Errorf("value must be in double quotes")
	}
	var b strings.Builder
	for i := 1; i < len(p); i++ {
		switch c := p[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\n':
			return "", 0, fmt.Errorf("newline in value")
		case '\\':
			i++
			if i >= len(p) {
				return "", 0, fmt.Errorf("unterminated value")
			}
			switch p[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c", p[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated value")
}

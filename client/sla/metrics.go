package sla

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/allot-dev/allot/bidding"
)

// Limits of the metrics parser: the input comes from a service's own
// endpoint, so it is outside input.
const (
	MaxMetricsBytes = 4 << 20 // a larger body is refused, not truncated
	maxLabels       = 64      // per series
	maxLineBytes    = 64 << 10
)

// Label is one label of a series.
type Label struct{ Name, Value string }

// Sample is one line of the Prometheus text format.
type Sample struct {
	Name   string
	Labels []Label
	Value  float64
}

// label returns the value of label n ("" when absent).
func (s *Sample) label(n string) string {
	for _, l := range s.Labels {
		if l.Name == n {
			return l.Value
		}
	}
	return ""
}

var metricTypes = map[string]bool{"counter": true, "gauge": true, "histogram": true, "summary": true, "untyped": true}

// ParseMetrics parses the Prometheus text exposition format (version
// 0.0.4) strictly: every line is a comment, blank, or a sample
// `name{l="v",…} value [timestamp]`; a malformed line, invalid UTF-8 in a
// label value, a repeated label, a repeated series, a second TYPE for a
// name, or more than MaxMetricsBytes is an error naming the line. Values
// are floats as the format writes them, NaN and ±Inf included.
func ParseMetrics(data []byte) ([]Sample, error) {
	if len(data) > MaxMetricsBytes {
		return nil, fmt.Errorf("metrics: %d bytes, more than %d", len(data), MaxMetricsBytes)
	}
	var out []Sample
	seen := map[string]bool{}
	typed := map[string]bool{}
	var key strings.Builder
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > maxLineBytes {
			return nil, fmt.Errorf("metrics line %d: longer than %d bytes", n, maxLineBytes)
		}
		s := strings.TrimRight(string(line), " \t")
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			continue
		}
		if s[0] == '#' {
			f := strings.Fields(s[1:])
			if len(f) >= 2 && (f[0] == "HELP" || f[0] == "TYPE") {
				if !bidding.ValidMetricName(f[1]) {
					return nil, fmt.Errorf("metrics line %d: %s for invalid metric name %q", n, f[0], f[1])
				}
				if f[0] == "TYPE" {
					if len(f) != 3 || !metricTypes[f[2]] {
						return nil, fmt.Errorf("metrics line %d: malformed TYPE line", n)
					}
					if typed[f[1]] {
						return nil, fmt.Errorf("metrics line %d: second TYPE line for %s", n, f[1])
					}
					typed[f[1]] = true
				}
			}
			continue
		}
		sm, err := parseSample(s)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %v", n, err)
		}
		key.Reset()
		key.WriteString(sm.Name)
		for _, l := range sortedLabels(sm.Labels) {
			key.WriteByte(0)
			key.WriteString(l.Name)
			key.WriteByte(0)
			key.WriteString(l.Value)
		}
		if seen[key.String()] {
			return nil, fmt.Errorf("metrics line %d: series %s appears twice", n, sm.Name)
		}
		seen[key.String()] = true
		out = append(out, sm)
	}
	return out, nil
}

func sortedLabels(ls []Label) []Label {
	if len(ls) < 2 {
		return ls
	}
	c := append([]Label(nil), ls...)
	for i := 1; i < len(c); i++ { // insertion sort: few labels
		for j := i; j > 0 && c[j].Name < c[j-1].Name; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}

func parseSample(s string) (Sample, error) {
	var sm Sample
	i := 0
	for i < len(s) && s[i] != '{' && s[i] != ' ' && s[i] != '\t' {
		i++
	}
	sm.Name = s[:i]
	if !bidding.ValidMetricName(sm.Name) {
		return sm, fmt.Errorf("invalid metric name %q", sm.Name)
	}
	p := s[i:]
	if strings.HasPrefix(p, "{") {
		p = p[1:]
		for {
			p = strings.TrimLeft(p, " \t")
			if strings.HasPrefix(p, "}") {
				p = p[1:]
				break
			}
			j := 0
			for j < len(p) && p[j] != '=' && p[j] != ' ' && p[j] != '\t' {
				j++
			}
			ln := p[:j]
			if !bidding.ValidLabelName(ln) {
				return sm, fmt.Errorf("invalid label name %q", ln)
			}
			p = strings.TrimLeft(p[j:], " \t")
			if !strings.HasPrefix(p, "=") {
				return sm, fmt.Errorf("expected = after label %q", ln)
			}
			p = strings.TrimLeft(p[1:], " \t")
			v, n, err := bidding.UnquoteLabelValue(p)
			if err != nil {
				return sm, fmt.Errorf("label %q: %v", ln, err)
			}
			if !utf8.ValidString(v) {
				return sm, fmt.Errorf("label %q: value is not UTF-8", ln)
			}
			for _, l := range sm.Labels {
				if l.Name == ln {
					return sm, fmt.Errorf("label %q appears twice", ln)
				}
			}
			if len(sm.Labels) == maxLabels {
				return sm, fmt.Errorf("more than %d labels", maxLabels)
			}
			sm.Labels = append(sm.Labels, Label{Name: ln, Value: v})
			p = strings.TrimLeft(p[n:], " \t")
			if strings.HasPrefix(p, ",") {
				p = p[1:]
				continue
			}
			if !strings.HasPrefix(p, "}") {
				return sm, fmt.Errorf("expected , or } after label %q", ln)
			}
		}
	}
	if p == "" || (p[0] != ' ' && p[0] != '\t') {
		return sm, fmt.Errorf("expected a space and a value after %s", sm.Name)
	}
	f := strings.Fields(p)
	if len(f) < 1 || len(f) > 2 {
		return sm, fmt.Errorf("expected a value and an optional timestamp after %s", sm.Name)
	}
	v, err := parseValue(f[0])
	if err != nil {
		return sm, err
	}
	sm.Value = v
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return sm, fmt.Errorf("timestamp %q is not an integer of milliseconds", f[1])
		}
	}
	return sm, nil
}

// parseValue reads a sample value: a decimal float, NaN, +Inf, -Inf (the
// forms the format writes; Go's hex floats, underscores and "infinity" are
// refused).
func parseValue(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, fmt.Errorf("value %q is not a number", s)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRange(err) {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil // out of range: ±Inf or 0, as the format's writers mean
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Select returns the largest value among the samples sel matches, ignoring
// NaN, and how many matched (NaN ones included). With matches but all NaN
// it returns NaN; with none, 0 and 0.
func Select(samples []Sample, sel bidding.MetricSelector) (value float64, matched int) {
	value = math.NaN()
	for i := range samples {
		s := &samples[i]
		if s.Name != sel.Name || !sel.Matches(s.label) {
			continue
		}
		matched++
		if math.IsNaN(s.Value) {
			continue
		}
		if math.IsNaN(value) || s.Value > value {
			value = s.Value
		}
	}
	if matched == 0 {
		return 0, 0
	}
	return value, matched
}

package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot/bidding"
)

// promAnswer is the part of a Prometheus /api/v1/query_range answer that
// is read.
type promAnswer struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string   `json:"metric"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// parsePromJSON reads a range query's matrix of exactly one series, as
// Options.Resource (required), its values times Options.Scale.
func parsePromJSON(data []byte, o Options) (map[string][]point, error) {
	if o.Resource == "" {
		return nil, errors.New("a Prometheus answer is one series: say which resource it is with --resource cpu|memory|io|net (and --scale, e.g. 1000 for cores)")
	}
	res, _ := bidding.ParseResource(o.Resource)
	var a promAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("prometheus JSON: %w", err)
	}
	if a.Status != "success" {
		return nil, fmt.Errorf("prometheus JSON: status %q (%s), want \"success\"", a.Status, a.Error)
	}
	if a.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("prometheus JSON: resultType %q, want \"matrix\" (the answer of a range query, /api/v1/query_range)", a.Data.ResultType)
	}
	switch n := len(a.Data.Result); {
	case n == 0:
		return nil, errors.New("prometheus JSON: no series (the query matched nothing)")
	case n > 1:
		return nil, fmt.Errorf("prometheus JSON: %d series, want exactly one: narrow the query with label matchers or aggregate it (e.g. sum(rate(container_cpu_usage_seconds_total{pod=\"web-0\"}[5m]))); the first is %s",
			n, labels(a.Data.Result[0].Metric))
	}
	vals := a.Data.Result[0].Values
	if len(vals) == 0 {
		return nil, errors.New("prometheus JSON: the series has no values")
	}
	pts := make([]point, 0, len(vals))
	for i, pair := range vals {
		src := fmt.Sprintf("values[%d]", i)
		if len(pair) != 2 {
			return nil, fmt.Errorf("%s: %d elements, want [unix seconds, \"value\"]", src, len(pair))
		}
		var ts float64
		if err := json.Unmarshal(pair[0], &ts); err != nil {
			return nil, fmt.Errorf("%s: time %s is not a number of Unix seconds", src, short(pair[0]))
		}
		t, err := unixSeconds(ts, string(pair[0]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		var s string
		if err := json.Unmarshal(pair[1], &s); err != nil {
			return nil, fmt.Errorf("%s: value %s is not a string such as \"0.42\"", src, short(pair[1]))
		}
		v, err := value(res, s, o.Scale)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		pts = append(pts, point{t: t, v: v, src: src})
	}
	return map[string][]point{res.String(): pts}, nil
}

func labels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strconv.Quote(m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func short(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// Package history decodes a service's past usage, exported from another
// monitoring system, into the api.UsageHistory that `allot usage import`
// sends (PUT /v1/usage/history/{service}): a CSV with a time column and
// per-resource columns, or a Prometheus range query's JSON answer. All of
// it is outside input: every error names the line (CSV) or the index
// (JSON) and what is wrong, and nothing is sent unless all of it is good.
package history

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
	"github.com/allot-dev/allot/fsm"
)

// Options say whose history it is and how to read it.
type Options struct {
	Service string
	Node    string
	// Resource selects one resource: the only column read from a CSV
	// (the others are ignored), and the resource a Prometheus series is.
	Resource string
	// Scale multiplies every bare number (not a quantity with a unit such
	// as "512MiB"); 0 means 1. E.g. 1000 for cores into millicores.
	Scale float64
	// Interval is the history's spacing; 0 infers it as the median
	// spacing of the points. Either way it must lie within [1 s, 1 h].
	Interval time.Duration
}

// Import is a decoded history and what the CLI says about it.
type Import struct {
	History  api.UsageHistory
	Points   int            // over all resources
	Per      map[string]int // points per resource
	From, To time.Time      // the oldest and newest point kept
	Warnings []string       // e.g. points dropped beyond the bound
}

// point is one value and where it came from ("line 7", "values[3]").
type point struct {
	t   time.Time
	v   float64
	src string
}

// Parse decodes data as a Prometheus range-query answer when it starts
// with '{', as a CSV otherwise.
func Parse(data []byte, o Options) (Import, error) {
	if err := o.check(); err != nil {
		return Import{}, err
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return Import{}, errors.New("empty file: want a CSV with a header row (time,cpu,memory,…) or a Prometheus range query's JSON")
	}
	var series map[string][]point
	var err error
	if trimmed[0] == '{' {
		series, err = parsePromJSON(trimmed, o)
	} else {
		series, err = parseCSV(data, o)
	}
	if err != nil {
		return Import{}, err
	}
	return finish(series, o)
}

func (o *Options) check() error {
	if err := bidding.ValidateName("--service", o.Service); err != nil {
		return err
	}
	if err := bidding.ValidateName("--node", o.Node); err != nil {
		return err
	}
	if o.Resource != "" {
		if _, err := bidding.ParseResource(o.Resource); err != nil {
			return fmt.Errorf("--resource: %w", err)
		}
	}
	if math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) || o.Scale < 0 {
		return fmt.Errorf("--scale: %v is not a positive number", o.Scale)
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.Interval != 0 && (o.Interval < fsm.MinHistoryInterval || o.Interval > fsm.MaxHistoryInterval) {
		return fmt.Errorf("--interval: %s is outside [%s, %s]", o.Interval, fsm.MinHistoryInterval, fsm.MaxHistoryInterval)
	}
	return nil
}

// value parses one value of resource res: a bare number in base units
// (times scale), or a quantity with a unit as in the config file.
func value(res bidding.Resource, s string, scale float64) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty value")
	}
	var v float64
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		v = f * scale // base units; NaN and Inf are refused below
	} else {
		n, err := config.ParseQuantity(res, s)
		if err != nil {
			return 0, err
		}
		v = float64(n)
	}
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a finite number", s)
	case v < 0:
		return 0, fmt.Errorf("%q is negative", s)
	case v > float64(bidding.MaxQuantity):
		return 0, fmt.Errorf("%q is too large (at most %d base units)", s, bidding.MaxQuantity)
	}
	return v, nil
}

// finish sorts each resource's points by time, refuses a repeated time,
// keeps the newest fsm.MaxHistoryPoints, infers the interval, and checks
// the result as the server will.
func finish(series map[string][]point, o Options) (Import, error) {
	imp := Import{Per: map[string]int{}}
	h := api.UsageHistory{Service: o.Service, Node: o.Node, Points: map[string][]api.HistoryPoint{}}
	var spacing []time.Duration
	for _, res := range slices.Sorted(maps.Keys(series)) {
		pts := series[res]
		if len(pts) == 0 {
			return Import{}, fmt.Errorf("%s: no points", res)
		}
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].t.Before(pts[j].t) })
		for i := 1; i < len(pts); i++ {
			if pts[i].t.Equal(pts[i-1].t) {
				return Import{}, fmt.Errorf("%s: time %s repeats %s's (times must be distinct)", pts[i].src, pts[i].t.UTC().Format(time.RFC3339), pts[i-1].src)
			}
		}
		if n := len(pts); n > fsm.MaxHistoryPoints {
			pts = pts[n-fsm.MaxHistoryPoints:]
			imp.Warnings = append(imp.Warnings, fmt.Sprintf("%s: %d points, kept the newest %d (four weeks of 5-minute points) from %s",
				res, n, fsm.MaxHistoryPoints, pts[0].t.UTC().Format(time.RFC3339)))
		}
		out := make([]api.HistoryPoint, len(pts))
		for i, p := range pts {
			out[i] = api.HistoryPoint{T: p.t.UTC(), V: p.v}
		}
		if len(spacing) == 0 { // the first resource's (a CSV's columns share their times)
			for i := 1; i < len(pts); i++ {
				spacing = append(spacing, pts[i].t.Sub(pts[i-1].t))
			}
		}
		h.Points[res] = out
		imp.Per[res] = len(out)
		imp.Points += len(out)
		if imp.From.IsZero() || out[0].T.Before(imp.From) {
			imp.From = out[0].T
		}
		if out[len(out)-1].T.After(imp.To) {
			imp.To = out[len(out)-1].T
		}
	}
	iv := o.Interval
	if iv == 0 {
		if len(spacing) == 0 {
			return Import{}, errors.New("one point per resource: the interval cannot be inferred; give --interval")
		}
		slices.Sort(spacing)
		iv = spacing[(len(spacing)-1)/2] // the lower median
		if iv >= fsm.MinHistoryInterval {
			iv = iv.Round(time.Second) // exports jitter; the grid is whole seconds
		}
		if iv < fsm.MinHistoryInterval || iv > fsm.MaxHistoryInterval {
			return Import{}, fmt.Errorf("the median spacing of the points, %s, is outside [%s, %s]; resample the export or give --interval", iv, fsm.MinHistoryInterval, fsm.MaxHistoryInterval)
		}
	}
	h.IntervalMS = iv.Round(time.Millisecond).Milliseconds()
	if err := h.Validate(); err != nil {
		return Import{}, err
	}
	imp.History = h
	return imp, nil
}

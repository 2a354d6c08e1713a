package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/usage/history"
)

const usageImportHelp = `Usage: allot usage import --service NAME --node NODE [--resource R] [--scale X] [--interval D] FILE

Seeds a service's forecaster on a node with its past usage, so a new client bids well from its
first epoch. FILE (or - for stdin) is either
  a CSV: a header row with a time column (time, timestamp or t: RFC 3339 or Unix seconds) and
         resource columns cpu, memory, io, net; values in base units (millicores, bytes, bytes/s,
         bits/s; --scale multiplies them) or quantities with a unit as in the config (250m,
         512MiB, 10MiB/s, 50Mbit). Any other column is an error, unless --resource picks one
         column: then the others are ignored.
  a Prometheus range query's JSON answer (/api/v1/query_range) with exactly one series:
         --resource says which resource it is, --scale converts (1000 for cores to millicores).
The interval is the median spacing (or --interval), within [1s, 1h]. At most 8064 points per
resource are kept (the newest, with a warning). Everything is checked before anything is sent;
the import is one request, replicated as one entry, replacing an earlier import of the same
service and node.
`

// cmdUsage dispatches `allot usage …`.
func cmdUsage(e *env, args []string) int {
	if len(args) == 0 || args[0] != "import" {
		return e.usageErr("usage: expected 'usage import --service NAME --node NODE FILE' (allot usage import --help)")
	}
	return cmdUsageImport(e, args[1:])
}

func cmdUsageImport(e *env, args []string) int {
	fs := newFlags("usage import", e)
	fs.Usage = func() { fmt.Fprint(e.stderr, usageImportHelp) }
	var o history.Options
	fs.StringVar(&o.Service, "service", "", "the registered service the history is of")
	fs.StringVar(&o.Node, "node", "", "the node whose client it seeds")
	fs.StringVar(&o.Resource, "resource", "", "cpu, memory, io or net: the one CSV column read, or what a Prometheus series is")
	fs.Float64Var(&o.Scale, "scale", 1, "multiplies bare numbers (e.g. 1000: cores to millicores)")
	fs.DurationVar(&o.Interval, "interval", 0, "the history's spacing (default: the median spacing of its points)")
	// Flags may come before or after FILE.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if err.Error() == "flag: help requested" {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return e.usageErr("usage import: expected one FILE (CSV or Prometheus JSON; - for stdin), got %d", len(files))
	}
	if o.Service == "" || o.Node == "" {
		return e.usageErr("usage import: --service and --node are required")
	}
	if o.Scale <= 0 {
		return e.usageErr("usage import: --scale %v: must be a positive number", o.Scale)
	}
	var data []byte
	var err error
	if files[0] == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(files[0])
	}
	if err != nil {
		return e.fail(fmt.Errorf("reading the history: %w", err))
	}
	imp, err := history.Parse(data, o)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w (nothing was imported)", files[0], err))
	}
	for _, w := range imp.Warnings {
		fmt.Fprintln(e.stderr, "Warning:", w)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	idx, err := e.client().ImportHistory(ctx, imp.History)
	if err != nil {
		return e.fail(fmt.Errorf("%w (nothing was imported)", err))
	}
	res := slices.Sorted(maps.Keys(imp.History.Points))
	iv := imp.History.Interval()
	if e.g.json {
		return e.printJSON(map[string]any{
			"service": o.Service, "node": o.Node, "index": idx,
			"points": imp.Points, "per_resource": imp.Per, "resources": res,
			"interval": iv.String(), "interval_ms": imp.History.IntervalMS,
			"from": imp.From.Format(time.RFC3339), "to": imp.To.Format(time.RFC3339),
			"warnings": append([]string{}, imp.Warnings...),
		})
	}
	fmt.Fprintf(e.stdout, "imported %d points (%s) for %s on %s, interval %s, from %s to %s\n",
		imp.Points, strings.Join(res, ", "), o.Service, o.Node, iv, imp.From.Format(time.RFC3339), imp.To.Format(time.RFC3339))
	return exitOK
}

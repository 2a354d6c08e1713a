package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/usage/history"
	"github.com/spf13/cobra"
)

const usageImportLong = `Seeds a service's forecaster on a node with its past usage, so a new client bids well from its
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

func usageCmd(e *env) *cobra.Command {
	var o history.Options
	imp := &cobra.Command{
		Use:   "import --service NAME --node NODE [--resource R] [--scale X] [--interval D] FILE",
		Short: "Seed a service's forecaster on a node with its past usage (CSV or Prometheus JSON)",
		Long:  usageImportLong,
		Example: `  allot usage import --service checkout --node node-2 checkout.csv
  curl -s 'http://prom:9090/api/v1/query_range?query=…&step=300' \
    | allot usage import --service checkout --node node-2 --resource cpu --scale 1000 -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("expected one FILE (CSV or Prometheus JSON; - for stdin), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return e.usageImport(cmd, o, args[0]) },
	}
	f := imp.Flags()
	f.StringVar(&o.Service, "service", "", "the registered service the history is of (required)")
	f.StringVar(&o.Node, "node", "", "the node whose client it seeds (required)")
	f.StringVar(&o.Resource, "resource", "", "cpu, memory, io or net: the one CSV column read, or what a Prometheus series is")
	f.Float64Var(&o.Scale, "scale", 1, "multiplies bare numbers (e.g. 1000: cores to millicores)")
	f.DurationVar(&o.Interval, "interval", 0, "the history's spacing (default: the median spacing of its points)")
	return group("usage", "Import past usage so new clients forecast well from their first epoch",
		"  allot usage import --service web --node n1 web.csv", imp)
}

func (e *env) usageImport(cmd *cobra.Command, o history.Options, file string) error {
	if o.Service == "" || o.Node == "" {
		return usagef("--service and --node are required")
	}
	if o.Scale <= 0 {
		return usagef("--scale %v: must be a positive number", o.Scale)
	}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("reading the history: %w", err)
	}
	imp, err := history.Parse(data, o)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was imported)", file, err)
	}
	for _, w := range imp.Warnings {
		fmt.Fprintln(e.stderr, "Warning:", w)
	}
	res := slices.Sorted(maps.Keys(imp.History.Points))
	iv := imp.History.Interval()
	return query(e, func(ctx context.Context, c *api.Client) (map[string]any, error) {
		idx, err := c.ImportHistory(ctx, imp.History)
		if err != nil {
			return nil, fmt.Errorf("%w (nothing was imported)", err)
		}
		return map[string]any{
			"service": o.Service, "node": o.Node, "index": idx,
			"points": imp.Points, "per_resource": imp.Per, "resources": res,
			"interval": iv.String(), "interval_ms": imp.History.IntervalMS,
			"from": imp.From.Format(time.RFC3339), "to": imp.To.Format(time.RFC3339),
			"warnings": append([]string{}, imp.Warnings...),
		}, nil
	}, func(map[string]any) error {
		fmt.Fprintf(e.stdout, "imported %d points (%s) for %s on %s, interval %s, from %s to %s\n",
			imp.Points, strings.Join(res, ", "), o.Service, o.Node, iv, imp.From.Format(time.RFC3339), imp.To.Format(time.RFC3339))
		return nil
	})
}

// Package eval implements `allot forecast eval`: it scores the forecast
// models on the M4 Hourly data set with the M4's own sMAPE, MASE and OWA, or
// on any CSV series by rolling-origin evaluation, and reports the coverage of
// the conformal 90% and 99% quantiles.
package eval

import (
	"errors"
	"flag"
	"fmt"
	"github.com/allot-dev/allot/internal/cliflag"
	"github.com/allot-dev/allot/internal/term"
	"io"
	"runtime"
	"strings"
	"time"
)

// options are the parsed command-line flags.
type options struct {
	dataset    string
	data       string
	model      string
	column     string
	timeColumn string
	interval   time.Duration
	horizon    int
	jsonOut    bool
	workers    int
	limit      int
	quiet      bool
	stride     int
	dump       string
}

const usage = `Usage: allot forecast eval --dataset m4-hourly --data DIR [--model M] [--json]
       allot forecast eval --dataset csv --data FILE --column C [--time-column T]
                           [--interval 5m] [--horizon 12] [--model M] [--json]

Scores forecast models: on M4 Hourly (414 series, h=48) with the M4's sMAPE,
MASE (m=24) and OWA against Naive2; on a CSV series by rolling-origin
evaluation. Rows naive2 and snaive are always included (csv mode also
snaive-plain, the textbook seasonal naive outside the online machinery, and
a check of every other model against it per resource group). --column all
takes every column but the time column; --model takes a comma-separated
list. Coverage90/99 are the fractions of actuals at or below the forecast
p90/p99 (one-sided, ties covered); coverage90_strict counts actuals
strictly below p90 and coverage90_ties those at or below it, both up to
rounding (a tie: relative difference ≤ 1e-9). A series' p90 is
"calibrated" (ties-aware, JSON p90_calibrated) when [strict, ties]
coverage meets [0.85, 0.95]:
q is a 0.9-quantile of a distribution with atoms iff P(Y < q) ≤ 0.9 ≤
P(Y ≤ q), so a p90 of zero on a series whose actuals are all (or > 95%)
zero counts as calibrated; without ties both coverages are equal and the
check is the plain band. The checks table counts all three.

Flags:
`

// Main runs the command with args (excluding "forecast eval") and returns
// the exit code: 0 success, 1 error, 2 usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return cliflag.Exit("forecast eval", err, stderr)
	}
	var rep *Report
	switch opts.dataset {
	case "m4-hourly":
		rep, err = runM4(opts, stderr)
	case "csv":
		rep, err = runCSV(opts, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "forecast eval: %v\n", err)
		return 1
	}
	if opts.jsonOut {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "forecast eval: writing report: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("forecast eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.dataset, "dataset", "", "data set: m4-hourly | csv")
	fs.StringVar(&o.data, "data", "", "M4 directory (Hourly-train.csv, Hourly-test.csv) or CSV file")
	fs.StringVar(&o.model, "model", "", "score only these models, comma-separated (plus the baselines); default all")
	fs.StringVar(&o.column, "column", "", "csv: value column name, a comma-separated list, or all")
	fs.StringVar(&o.timeColumn, "time-column", "", "csv: time column (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or seconds); rows are evenly spaced without it")
	fs.DurationVar(&o.interval, "interval", 0, "csv: sampling interval (e.g. 5m)")
	fs.IntVar(&o.horizon, "horizon", 0, "forecast horizon in steps (m4-hourly: 48; csv: default 12)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON document")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "parallel workers")
	fs.IntVar(&o.limit, "limit", 0, "m4-hourly: score only the first N series (0 = all)")
	progress := fs.Bool("progress", term.IsTerminal(stderr), "progress bar on stderr (default: only when stderr is a terminal)")
	fs.BoolVar(&o.quiet, "quiet", false, "deprecated: --progress=false")
	fs.StringVar(&o.dump, "dump", "", "csv: also write each regularised series to DIR/NAME (one column y), for scoring with other tools")
	fs.IntVar(&o.stride, "stride", 1, "csv: score every stride-th origin only (the forecaster still sees every observation); for side-by-side runs with slow external tools")
	if err := cliflag.Parse(fs, args, stderr); err != nil {
		return o, err
	}
	o.quiet = o.quiet || !*progress
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.dataset = strings.ToLower(o.dataset)
	switch o.dataset {
	case "m4-hourly":
		if o.horizon == 0 {
			o.horizon = 48
		}
		if o.interval == 0 {
			o.interval = time.Hour
		}
	case "csv":
		if o.column == "" {
			return o, errors.New("--column is required with --dataset csv")
		}
		if o.horizon == 0 {
			o.horizon = 12
		}
		if o.interval <= 0 {
			return o, errors.New("--interval (> 0) is required with --dataset csv")
		}
	case "":
		return o, errors.New("--dataset is required (m4-hourly | csv)")
	default:
		return o, fmt.Errorf("--dataset %q: want m4-hourly or csv", o.dataset)
	}
	if o.data == "" {
		return o, errors.New("--data is required")
	}
	if o.horizon < 1 || o.horizon > 10000 {
		return o, fmt.Errorf("--horizon %d: want 1..10000", o.horizon)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	if o.stride < 1 {
		return o, fmt.Errorf("--stride %d: want ≥ 1", o.stride)
	}
	return o, nil
}

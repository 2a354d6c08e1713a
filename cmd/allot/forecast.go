package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
	"github.com/allot-dev/allot/forecast/eval"
	"github.com/spf13/cobra"
)

// forecastCmd prints forecast vs actual for one service: per node and
// resource the latest epoch's actual and bid quantiles, and the score over
// the epochs kept (coverage of p90/p99, MAE and MASE of p50).
func forecastCmd(e *env) *cobra.Command {
	var epochs int
	c := &cobra.Command{
		Use:   "forecast SERVICE [--epochs N]",
		Short: "A service's forecasts against what it really used, per node and resource",
		Long: `Show a service's forecasts against its actual usage, per node and resource: the latest epoch's
actual and the p50/p90/p99 of the bid in force, and over the epochs kept the coverage of p90 and
p99, the MAE and MASE of p50 (MASE against last epoch's actual).`,
		Example: `  allot forecast web
  allot forecast web --epochs 12     # also list the last 12 epochs
  allot forecast eval --help         # score the forecasters offline`,
		Args:              exactArgs(1, "one SERVICE (or 'forecast eval …')"),
		ValidArgsFunction: e.completeServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) (api.ForecastView, error) { return c.Forecast(ctx, args[0]) }, func(v api.ForecastView) error {
				return e.printForecast(v, epochs)
			})
		},
	}
	c.Flags().IntVar(&epochs, "epochs", 0, "also list the last N epochs of each node and resource")
	c.AddCommand(delegated(&cobra.Command{
		Use:   "eval [flags]",
		Short: "Score the forecasters offline on M4 Hourly or any CSV series",
		Long: `Score the forecast models with the M4's own sMAPE, MASE and OWA on the M4 Hourly data set, or
on any CSV series by rolling-origin evaluation, with the coverage of the 90% and 99% quantiles.`,
		Example: `  allot forecast eval --dataset csv --data demo/data/ec2_cpu_utilization_5f5533.csv --column value --interval 5m
  allot forecast eval --dataset m4-hourly --data m4/ --limit 50 --json --progress=false`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return delegateExit(eval.Main(args, e.stdout, e.stderr))
		},
	}, func(w io.Writer) { eval.Main([]string{"-h"}, w, w) }))
	return c
}

// printForecast is the human view of 'allot forecast': the latest epoch
// and the score per node and resource, then the last N epochs (--epochs).
func (e *env) printForecast(v api.ForecastView, epochs int) error {
	if len(v.Nodes) == 0 {
		fmt.Fprintf(e.stdout, "No usage reported for %s yet (clients report once per epoch).\n", v.Service)
		return nil
	}
	q := func(res bidding.Resource, p *int64) string {
		if p == nil {
			return "-"
		}
		return config.FormatQuantity(res, *p)
	}
	var rows, detail [][]string
	for _, n := range v.Nodes {
		for _, rn := range slices.Sorted(maps.Keys(n.Resources)) {
			r := n.Resources[rn]
			res, _ := bidding.ParseResource(rn)
			if len(r.Points) == 0 {
				continue
			}
			last := r.Points[len(r.Points)-1]
			s := r.Summary
			rows = append(rows, []string{n.Node, rn, fmt.Sprint(last.Epoch), config.FormatQuantity(res, last.Actual), q(res, last.P50), q(res, last.P90), q(res, last.P99),
				fmt.Sprintf("%d/%d", s.Forecasts, s.Epochs), fmt.Sprintf("%.2f", s.CoverageP90), fmt.Sprintf("%.2f", s.CoverageP99), config.FormatQuantity(res, int64(s.MAE+0.5)), fmt.Sprintf("%.2f", s.MASE)})
			for _, p := range r.Points[max(0, len(r.Points)-epochs):] {
				detail = append(detail, []string{n.Node, rn, fmt.Sprint(p.Epoch), config.FormatQuantity(res, p.Actual), q(res, p.P50), q(res, p.P90), q(res, p.P99)})
			}
		}
	}
	fmt.Fprintf(e.stdout, "Forecast vs actual for %s (quantiles of the bid in force; MAE/MASE of p50, MASE against last epoch's actual)\n", v.Service)
	e.table("NODE\tRESOURCE\tEPOCH\tACTUAL\tP50\tP90\tP99\tFORECASTS\tCOV90\tCOV99\tMAE\tMASE", rows)
	if epochs > 0 {
		fmt.Fprintln(e.stdout)
		e.table("NODE\tRESOURCE\tEPOCH\tACTUAL\tP50\tP90\tP99", detail)
	}
	return nil
}

// delegateExit turns a delegated Main's exit code into RunE's error.
func delegateExit(code int) error {
	if code == 0 {
		return nil
	}
	return exitStatus(code)
}

package main

import (
	"io"

	"github.com/allot-dev/allot/bidding/bench"
	"github.com/allot-dev/allot/clusterbench"
	"github.com/allot-dev/allot/sim"
	"github.com/spf13/cobra"
)

func simCmd(e *env) *cobra.Command {
	return delegated(&cobra.Command{
		Use:   "sim --trace DIR [flags]",
		Short: "Offline replay of real traces: static, reactive, VPA-like, Allot and an oracle side by side",
		Long: `Replay real usage traces through the whole loop — forecast, bid, solve, enforce — for several
policies side by side, and report slack, shortfall and throttling per policy, with plots.`,
		Example: `  allot sim --trace demo/data --days 1
  allot sim --trace demo/data --policy static,allot --out sim-out --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return delegateExit(sim.Main(args, e.stdout, e.stderr))
		},
	}, func(w io.Writer) { sim.Main([]string{"-h"}, w, w) })
}

func benchCmd(e *env) *cobra.Command {
	solver := delegated(&cobra.Command{
		Use:     "solver --services N [flags]",
		Short:   "Time the solver against a sort of the same size",
		Example: "  allot bench solver --services 10000 --nodes 100 --json",
		RunE: func(cmd *cobra.Command, args []string) error {
			return delegateExit(bench.Main(args, e.stdout, e.stderr))
		},
	}, func(w io.Writer) { bench.Main([]string{"-h"}, w, w) })
	clusterBench := delegated(&cobra.Command{
		Use:   "cluster [flags]",
		Short: "3 servers + N simulated nodes: RSS, snapshot, commit, ingest, catch-up (etcd alongside)",
		Example: `  allot bench cluster --nodes 100 --services-per-node 10 --epochs 10 --epoch 1s --json
  allot bench cluster --nodes 1000 --skip-ingest`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return delegateExit(clusterbench.Main(args, e.stdout, e.stderr))
		},
	}, func(w io.Writer) { clusterbench.Main([]string{"-h"}, w, w) })
	return group("bench", "Benchmarks: the solver, a whole cluster", "  allot bench solver --services 10000\n  allot bench cluster --nodes 100", solver, clusterBench)
}

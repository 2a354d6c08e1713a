// Command allot-live runs the live experiment (make live, live/DESIGN.md):
// real containers replaying real traces under the kernel's limits, Allot
// against static limits, beside the simulator's prediction. It needs root
// and a Docker Engine, the allot:dev image (make image) and bin/allot.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/live"
	"github.com/hashicorp/go-hclog"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	o := live.Options{}
	fs := flag.NewFlagSet("allot-live", flag.ContinueOnError)
	fs.StringVar(&o.Scenario, "scenario", "live/scenario.hcl", "sim scenario: nodes, services, series (paths relative to its trace_dir)")
	fs.StringVar(&o.Out, "out", "live/out", "directory for traces, data dirs and logs")
	fs.StringVar(&o.Report, "report", "live/report.json", "where the JSON report goes")
	fs.StringVar(&o.Bin, "bin", "bin/allot", "the allot binary (client agents, usage import)")
	fs.StringVar(&o.Image, "image", "allot:dev", "the image servers and loadgens run (make image)")
	fs.DurationVar(&o.Epoch, "epoch", 5*time.Second, "epoch: one trace step each")
	fs.Float64Var(&o.Days, "days", 0, "evaluated trace days (0: the scenario's)")
	fs.Float64Var(&o.Contention, "contention", 0, "contention Σp95/capacity (0: the scenario's first)")
	policies := fs.String("policy", "allot,static", "policies to run, comma-separated: "+strings.Join(baseline.Policies(), ", "))
	fs.BoolVar(&o.MemoryBorrow, "memory-borrow", true, "run the allot clients with client.memory_borrow, their default (memory allocations as reservations under the node's memory, the OOM decoy beside them), and predict with it; false: hard limits")
	fs.BoolVar(&o.Kill, "kill", true, "kill -9 one client in the middle of the allot run, then restart it")
	jsonOut := fs.Bool("json", false, "print report.json instead of the table")
	fs.BoolVar(&o.Rescore, "rescore", false, "no containers: compute the report again from the runs saved in --out (after a simulator change)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for _, p := range strings.Split(*policies, ",") {
		p = strings.TrimSpace(p)
		ok := false
		for _, q := range baseline.Policies() {
			ok = ok || p == q
		}
		if !ok {
			fmt.Fprintf(os.Stderr, "allot-live: --policy %q: allowed: %s\n", p, strings.Join(baseline.Policies(), ", "))
			return 2
		}
		o.Policies = append(o.Policies, p)
	}
	if o.Epoch < time.Second {
		fmt.Fprintln(os.Stderr, "allot-live: --epoch must be at least 1s")
		return 2
	}
	if os.Geteuid() != 0 && !o.Rescore {
		fmt.Fprintln(os.Stderr, "allot-live: needs root (it makes cgroups and runs client agents that write them)")
		return 1
	}
	o.Log = hclog.New(&hclog.LoggerOptions{Name: "live", Level: hclog.Info, Output: os.Stderr})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := live.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "allot-live:", err)
		return 1
	}
	if *jsonOut {
		b, _ := os.ReadFile(o.Report)
		os.Stdout.Write(b)
		return 0
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		return 1
	}
	return 0
}

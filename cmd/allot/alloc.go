package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
	"github.com/spf13/cobra"
)

func servicesCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "services",
		Short:   "Registered services and their allocations",
		Example: "  allot services\n  allot services --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) ([]api.ServiceView, error) { return c.Services(ctx) }, e.printServices)
		},
	}
}

// printServices is the human view of 'allot services'.
func (e *env) printServices(svcs []api.ServiceView) error {
	var rows [][]string
	for _, s := range svcs {
		// 0 is no limit: a sum over placements is unlimited when any is.
		var cpu, mem int64
		for _, a := range s.Allocations {
			cpu, mem = addLimit(cpu, a.CPU), addLimit(mem, a.Memory)
		}
		boost := "-"
		if s.Boost != nil {
			boost = fmt.Sprintf("x%g", s.Boost.Factor)
		}
		rows = append(rows, []string{s.Name, string(s.Class), fmt.Sprint(s.EffectiveWeight()), boost, fmt.Sprint(len(s.Allocations)),
			limitTotal(bidding.CPU, cpu, len(s.Allocations)), limitTotal(bidding.Memory, mem, len(s.Allocations))})
	}
	e.table("Service\tClass\tWeight\tBoost\tPlacements\tCPU\tMemory", rows)
	return nil
}

func serviceCmd(e *env) *cobra.Command {
	register := &cobra.Command{
		Use:   "register FILE",
		Short: "Register services from an HCL or JSON file",
		Long: `Register (or replace) the services a file defines: HCL service blocks or their JSON form,
checked before anything is sent; errors name the key.`,
		Example: "  allot service register web.hcl",
		Args:    exactArgs(1, "one FILE (HCL or JSON service definitions)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svcs, err := config.ParseServiceFile(args[0])
			if err != nil {
				return err
			}
			// One line per service as it is registered, so a refusal
			// part-way shows which went through: the human view is empty.
			return query(e, func(ctx context.Context, c *api.Client) ([]api.RegisterResult, error) {
				var results []api.RegisterResult
				for _, s := range svcs {
					r, err := c.PutService(ctx, s)
					if err != nil {
						return nil, err
					}
					results = append(results, r)
					if !e.g.json {
						fmt.Fprintf(e.stdout, "Registered service %q\n", s.Name)
					}
				}
				return results, nil
			}, func([]api.RegisterResult) error { return nil })
		},
	}
	deregister := &cobra.Command{
		Use:               "deregister NAME",
		Short:             "Remove a service from the registry",
		Example:           "  allot service deregister web",
		Args:              exactArgs(1, "one service NAME"),
		ValidArgsFunction: e.completeServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, indexed(func(ctx context.Context, c *api.Client) (uint64, error) { return c.DeregisterService(ctx, args[0]) }), func(api.WriteResult) error {
				fmt.Fprintf(e.stdout, "Deregistered service %q\n", args[0])
				return nil
			})
		},
	}
	return group("service", "Register and deregister services", "  allot service register web.hcl\n  allot service deregister web", register, deregister)
}

func bidCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "bid FILE",
		Short: "Submit a bid (JSON, one or an array; - reads stdin)",
		Long: `Submit one bid or an array of bids: a service's forecast quantiles on one node, in base units
(millicores, bytes, bytes/s, bits/s). A bid without "epoch" is for the next epoch (the one
after the latest committed plan). Node agents bid on their own; this is for trying things out.`,
		Example: `  echo '{"service":"web","node":"n1","resources":{"cpu":{"p50":500,"p90":800,"p99":1000}}}' > bid.json
  allot bid bid.json
  allot bid - < bids.json`,
		Args: exactArgs(1, "one FILE (a JSON bid or array of bids; - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b []byte
			var err error
			if args[0] == "-" {
				b, err = io.ReadAll(cmd.InOrStdin())
			} else {
				b, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("reading bid: %w", err)
			}
			return query(e, func(ctx context.Context, c *api.Client) (api.BidsResult, error) { return c.PutBidsJSON(ctx, b) }, func(r api.BidsResult) error {
				fmt.Fprintf(e.stdout, "Accepted %d bid(s) at index %d\n", r.Bids, r.Index)
				return nil
			})
		},
	}
}

func planCmd(e *env) *cobra.Command {
	var epoch uint64
	var wait bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "plan [--epoch N] [--wait]",
		Short: "Show the committed plan: every service's allocation on every node",
		Example: `  allot plan
  allot plan --wait            # block until the next plan is committed
  allot plan --epoch 42 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) (bidding.Plan, error) {
				p, err := c.Plan(ctx, epoch)
				if err != nil && !(wait && api.IsNotFound(err)) {
					return p, err
				}
				if wait && epoch == 0 {
					return waitPlan(ctx, c, p, timeout)
				}
				return p, nil
			}, e.printPlan)
		},
	}
	c.Flags().Uint64Var(&epoch, "epoch", 0, "show the plan of this epoch (0: the latest)")
	c.Flags().BoolVar(&wait, "wait", false, "block until the next plan is committed")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "longest --wait")
	c.AddCommand(explainCmd(e))
	return c
}

// waitPlan waits up to timeout for a plan newer than p (the latest, or
// the zero plan when none is committed yet).
func waitPlan(ctx context.Context, c *api.Client, p bidding.Plan, timeout time.Duration) (bidding.Plan, error) {
	start := p.Index
	deadline := time.Now().Add(timeout)
	for p.Index <= start && time.Now().Before(deadline) {
		w := min(time.Until(deadline), 60*time.Second)
		np, err := c.WatchPlan(ctx, start, w.Round(time.Second))
		if err != nil && !api.IsNotFound(err) {
			return p, err
		}
		if err == nil {
			p = np
		}
	}
	if p.Index <= start {
		return p, fmt.Errorf("no new plan within %s", timeout)
	}
	return p, nil
}

// printPlan is the human view of 'allot plan'.
func (e *env) printPlan(p bidding.Plan) error {
	fmt.Fprintf(e.stdout, "Epoch %d  index %d  %s  created %s  solve %.2f ms  Jain %.3f\n", p.Epoch, p.Index, p.Hash, p.Created.Format(time.RFC3339), p.Stats.SolveMS, p.Stats.FairnessJain)
	var rows [][]string
	for _, a := range p.Allocations {
		rows = append(rows, []string{a.Service, a.Node, quantity(bidding.CPU, a.CPU), quantity(bidding.Memory, a.Memory),
			quantity(bidding.IO, a.IO), quantity(bidding.Net, a.Net)})
	}
	e.table("Service\tNode\tCPU\tMemory\tIO\tNet", rows)
	for _, pr := range p.Problems {
		fmt.Fprintln(e.stdout, "Problem:", pr)
	}
	return nil
}

// addLimit adds allocations where 0 means no limit (-1: unlimited so far).
func addLimit(sum, v int64) int64 {
	if sum < 0 || v == 0 {
		return -1
	}
	return sum + v
}

// limitTotal prints a sum of allocations: "-" with no placement.
func limitTotal(r bidding.Resource, sum int64, n int) string {
	switch {
	case n == 0:
		return "-"
	case sum < 0:
		return "unlimited"
	}
	return config.FormatQuantity(r, sum)
}

// quantity prints an allocation in its resource's unit; 0 means no limit.
func quantity(r bidding.Resource, v int64) string {
	if v == 0 {
		return "unlimited"
	}
	return config.FormatQuantity(r, v)
}

func explainCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "explain SERVICE",
		Short: "Why a service got what it got: floor, utility segments, binding constraint, shadow price",
		Example: `  allot plan explain web
  allot plan explain web --json`,
		Args:              exactArgs(1, "one SERVICE"),
		ValidArgsFunction: e.completeServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(e, func(ctx context.Context, c *api.Client) (api.ExplainView, error) { return c.Explain(ctx, args[0]) }, e.printExplain)
		},
	}
}

// printExplain is the human view of 'allot plan explain'.
func (e *env) printExplain(out api.ExplainView) error {
	fmt.Fprintf(e.stdout, "Service %s in epoch %d (%s)\n", out.Service, out.Epoch, out.Hash)
	if b := out.Boost; b != nil {
		fmt.Fprintf(e.stdout, "Boost x%g for %d epochs from epoch %d: %s\n", b.Factor, b.TTLEpochs, b.StartEpoch, b.Reason)
	}
	for _, p := range out.Placements {
		fmt.Fprintf(e.stdout, "\nNode %s: weight %g, boost x%g\n", p.Node, p.Weight, p.Boost)
		for _, rn := range slices.Sorted(maps.Keys(p.Resources)) {
			r := p.Resources[rn]
			res, _ := bidding.ParseResource(rn)
			fmt.Fprintf(e.stdout, "  %-7s floor %s, granted %s, binding: %s, shadow price %.3g\n", rn,
				config.FormatQuantity(res, r.Floor), config.FormatQuantity(res, r.Granted), r.Binding, r.ShadowPrice)
			for _, s := range r.Segments {
				fmt.Fprintf(e.stdout, "          segment %-4s width %s value %.4g granted %s\n", s.Name, config.FormatQuantity(res, s.Width), s.Value, config.FormatQuantity(res, s.Granted))
			}
		}
	}
	if len(out.Placements) == 0 {
		fmt.Fprintln(e.stdout, "No placement in the latest plan (no bid in force).")
	}
	return nil
}

func boostCmd(e *env) *cobra.Command {
	var factor float64
	var ttl, reason string
	var clear bool
	c := &cobra.Command{
		Use:   "boost SERVICE [--factor F] [--ttl D] [--reason TEXT] | boost SERVICE --clear",
		Short: "Raise a service's weight for a bounded time (or clear its boost)",
		Long: `Raise a service's weight by a factor decaying to 1 over the TTL, counted in whole epochs from
the next one. plan explain shows the boost and its reason.`,
		Example: `  allot boost web --factor 2 --ttl 1m --reason "error spike"
  allot boost web --clear`,
		Args:              exactArgs(1, "one SERVICE"),
		ValidArgsFunction: e.completeServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if clear {
				return query(e, indexed(func(ctx context.Context, c *api.Client) (uint64, error) { return c.ClearBoost(ctx, name) }), func(api.WriteResult) error {
					fmt.Fprintf(e.stdout, "Cleared the boost of %s\n", name)
					return nil
				})
			}
			return query(e, func(ctx context.Context, c *api.Client) (api.BoostResult, error) {
				return c.SetBoost(ctx, name, api.BoostRequest{Factor: factor, TTL: ttl, Reason: reason})
			}, func(r api.BoostResult) error {
				b := r.Boost
				fmt.Fprintf(e.stdout, "Boosted %s x%g for %d epoch(s) from epoch %d", b.Service, b.Factor, b.TTLEpochs, b.StartEpoch)
				if b.Reason != "" {
					fmt.Fprintf(e.stdout, ": %s", b.Reason)
				}
				fmt.Fprintln(e.stdout)
				return nil
			})
		},
	}
	c.Flags().Float64Var(&factor, "factor", 2, "weight multiplier in [1, 10], decaying to 1 over the TTL")
	c.Flags().StringVar(&ttl, "ttl", "15m", "how long the boost lasts (rounded up to whole epochs)")
	c.Flags().StringVar(&reason, "reason", "", "why (shown in plan explain)")
	c.Flags().BoolVar(&clear, "clear", false, "remove the service's boost instead")
	return c
}

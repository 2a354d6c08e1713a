package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/allot-dev/allot/agent"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/config"
	"github.com/hashicorp/go-hclog"
)

func (e *env) client() *api.Client {
	return api.NewClientTLS(e.g.httpAddr, e.g.token, e.tlsConfig)
}

func (e *env) ctx() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// fail prints an error and returns the exit code for it.
func (e *env) fail(err error) int {
	fmt.Fprintln(e.stderr, "Error:", err)
	return exitErr
}

func (e *env) usageErr(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "allot: "+format+"\n", a...)
	return exitUsage
}

// printJSON writes v as one indented JSON document.
func (e *env) printJSON(v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return e.fail(err)
	}
	return exitOK
}

func (e *env) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("allot "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func cmdAgent(e *env, args []string) int {
	cfg, err := config.Load(args, e.getenv, e.stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) || strings.Contains(err.Error(), flag.ErrHelp.Error()) {
			return exitOK
		}
		fmt.Fprintln(e.stderr, "allot agent: config:", err)
		return exitUsage
	}
	level := hclog.LevelFromString(cfg.LogLevel)
	log := hclog.New(&hclog.LoggerOptions{Name: "allot", Level: level, Output: e.stderr, JSONFormat: cfg.LogJSON})
	ctx, cancel := e.ctx()
	defer cancel()
	a := agent.New(cfg, log, version)
	a.SetOutput(e.stdout)
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	if cfg.Dev {
		// Wait for the API to say where it is.
		for a.HTTPAddr() == "" {
			select {
			case err := <-errc:
				return agentExit(e, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		fmt.Fprintf(e.stdout, "Allot dev agent: API %s://%s/v1/  UI %s://%s/ui/  (Ctrl-C to stop)\n", a.Scheme(), a.HTTPAddr(), a.Scheme(), a.HTTPAddr())
	}
	return agentExit(e, <-errc)
}

func agentExit(e *env, err error) int {
	if err != nil {
		fmt.Fprintln(e.stderr, "allot agent:", err)
		return exitErr
	}
	return exitOK
}

func cmdVersion(e *env, args []string) int {
	if e.g.json {
		return e.printJSON(map[string]string{"version": version})
	}
	fmt.Fprintln(e.stdout, "allot", version)
	return exitOK
}

func cmdKeygen(e *env, args []string) int {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return e.fail(err)
	}
	k := base64.StdEncoding.EncodeToString(b)
	if e.g.json {
		return e.printJSON(map[string]string{"key": k})
	}
	fmt.Fprintln(e.stdout, k)
	return exitOK
}

func cmdMembers(e *env, args []string) int {
	ctx, cancel := e.ctx()
	defer cancel()
	var ms []api.MemberView
	if _, err := e.client().Do(ctx, "GET", "/v1/agent/members", nil, &ms); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(ms)
	}
	var rows [][]string
	for _, m := range ms {
		rows = append(rows, []string{m.Name, m.Address, m.Role, m.Status, m.ID})
	}
	e.table("Node\tAddress\tRole\tStatus\tID", rows)
	return exitOK
}

func cmdJoin(e *env, args []string) int {
	if len(args) == 0 {
		return e.usageErr("join: at least one address is required (allot join HOST:PORT)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := ""
	for i, a := range args {
		if i > 0 {
			q += "&"
		}
		q += "address=" + a
	}
	var out map[string]int
	if _, err := e.client().Do(ctx, "PUT", "/v1/agent/join?"+q, nil, &out); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(out)
	}
	fmt.Fprintf(e.stdout, "Joined: %d node(s) contacted\n", out["joined"])
	return exitOK
}

func cmdLeave(e *env, args []string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out map[string]bool
	if _, err := e.client().Do(ctx, "PUT", "/v1/agent/leave", nil, &out); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(out)
	}
	fmt.Fprintln(e.stdout, "Graceful leave complete")
	return exitOK
}

func cmdOperator(e *env, args []string) int {
	if len(args) < 2 || args[0] != "raft" {
		return e.usageErr("operator: expected 'operator raft list-peers' or 'operator raft remove-peer --id ID'")
	}
	ctx, cancel := e.ctx()
	defer cancel()
	switch args[1] {
	case "list-peers":
		var peers []cluster.Peer
		if _, err := e.client().Do(ctx, "GET", "/v1/status/peers", nil, &peers); err != nil {
			return e.fail(err)
		}
		if e.g.json {
			return e.printJSON(peers)
		}
		var rows [][]string
		for _, p := range peers {
			state := "follower"
			if p.Leader {
				state = "leader"
			}
			rows = append(rows, []string{p.Name, p.ID, p.Address, state, fmt.Sprint(p.Voter)})
		}
		e.table("Node\tID\tAddress\tState\tVoter", rows)
		return exitOK
	case "remove-peer":
		fs := newFlags("operator raft remove-peer", e)
		id := fs.String("id", "", "ID (or node name) of the server to remove")
		if err := fs.Parse(args[2:]); err != nil {
			return exitUsage
		}
		if *id == "" {
			return e.usageErr("operator raft remove-peer: --id is required")
		}
		var out map[string]any
		if _, err := e.client().Do(ctx, "DELETE", "/v1/operator/raft/peer?id="+*id, nil, &out); err != nil {
			return e.fail(err)
		}
		if e.g.json {
			return e.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "Removed peer %s\n", *id)
		return exitOK
	}
	return e.usageErr("operator raft: unknown subcommand %q", args[1])
}

// cmdHealth exits 0 when the local agent answers /v1/health with 200 (it
// serves and knows a leader), 1 otherwise: for container health checks,
// where the FROM scratch image has no shell or curl.
func cmdHealth(e *env, args []string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out map[string]any
	if _, err := e.client().Do(ctx, "GET", "/v1/health", nil, &out); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(out)
	}
	fmt.Fprintln(e.stdout, "ok")
	return exitOK
}

func cmdStatus(e *env, args []string) int {
	ctx, cancel := e.ctx()
	defer cancel()
	c := e.client()
	out := map[string]any{}
	var leader map[string]string
	if _, err := c.Do(ctx, "GET", "/v1/status/leader", nil, &leader); err != nil {
		out["leader_error"] = err.Error()
	} else {
		out["leader"] = leader
	}
	var peers []cluster.Peer
	if _, err := c.Do(ctx, "GET", "/v1/status/peers", nil, &peers); err == nil {
		out["peers"] = peers
	}
	var members []api.MemberView
	if _, err := c.Do(ctx, "GET", "/v1/agent/members", nil, &members); err != nil {
		return e.fail(err)
	}
	out["members"] = members
	var plan bidding.Plan
	if _, err := c.Do(ctx, "GET", "/v1/plan", nil, &plan); err == nil {
		out["plan"] = map[string]any{"epoch": plan.Epoch, "index": plan.Index, "hash": plan.Hash, "created": plan.Created, "allocations": len(plan.Allocations), "stats": plan.Stats}
	}
	var health map[string]any
	_, herr := c.Do(ctx, "GET", "/v1/health", nil, &health)
	out["healthy"] = herr == nil
	if e.g.json {
		return e.printJSON(out)
	}
	if leader != nil {
		fmt.Fprintf(e.stdout, "Leader:   %s (%s)\n", leader["name"], leader["address"])
	} else {
		fmt.Fprintf(e.stdout, "Leader:   none (%v)\n", out["leader_error"])
	}
	alive := 0
	for _, m := range members {
		if m.Status == "alive" {
			alive++
		}
	}
	fmt.Fprintf(e.stdout, "Peers:    %d in Raft\nMembers:  %d alive of %d\n", len(peers), alive, len(members))
	if plan.Epoch > 0 {
		fmt.Fprintf(e.stdout, "Plan:     epoch %d, %d allocations, %s, committed %s\n", plan.Epoch, len(plan.Allocations), plan.Hash, plan.Created.Format(time.RFC3339))
	} else {
		fmt.Fprintln(e.stdout, "Plan:     none yet")
	}
	fmt.Fprintf(e.stdout, "Health:   %s\n", map[bool]string{true: "ok", false: "unhealthy"}[herr == nil])
	return exitOK
}

func cmdServices(e *env, args []string) int {
	ctx, cancel := e.ctx()
	defer cancel()
	var svcs []api.ServiceView
	if _, err := e.client().Do(ctx, "GET", "/v1/services", nil, &svcs); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(svcs)
	}
	var rows [][]string
	for _, s := range svcs {
		var cpu, mem int64
		for _, a := range s.Allocations {
			cpu += a.CPU
			mem += a.Memory
		}
		boost := "-"
		if s.Boost != nil {
			boost = fmt.Sprintf("x%g", s.Boost.Factor)
		}
		rows = append(rows, []string{s.Name, string(s.Class), fmt.Sprint(s.EffectiveWeight()), boost, fmt.Sprint(len(s.Allocations)),
			config.FormatQuantity(bidding.CPU, cpu), config.FormatQuantity(bidding.Memory, mem)})
	}
	e.table("Service\tClass\tWeight\tBoost\tPlacements\tCPU\tMemory", rows)
	return exitOK
}

func cmdService(e *env, args []string) int {
	if len(args) < 2 {
		return e.usageErr("service: expected 'service register FILE' or 'service deregister NAME'")
	}
	ctx, cancel := e.ctx()
	defer cancel()
	switch args[0] {
	case "register":
		svcs, err := config.ParseServiceFile(args[1])
		if err != nil {
			return e.fail(err)
		}
		var results []map[string]any
		for _, s := range svcs {
			var out map[string]any
			if _, err := e.client().Do(ctx, "PUT", "/v1/service/"+s.Name, s, &out); err != nil {
				return e.fail(fmt.Errorf("registering %s: %w", s.Name, err))
			}
			results = append(results, out)
			if !e.g.json {
				fmt.Fprintf(e.stdout, "Registered service %q\n", s.Name)
			}
		}
		if e.g.json {
			return e.printJSON(results)
		}
		return exitOK
	case "deregister":
		var out map[string]any
		if _, err := e.client().Do(ctx, "DELETE", "/v1/service/"+args[1], nil, &out); err != nil {
			return e.fail(err)
		}
		if e.g.json {
			return e.printJSON(out)
		}
		fmt.Fprintf(e.stdout, "Deregistered service %q\n", args[1])
		return exitOK
	}
	return e.usageErr("service: unknown subcommand %q", args[0])
}

func cmdBid(e *env, args []string) int {
	if len(args) != 1 {
		return e.usageErr("bid: expected one FILE (JSON bid or array of bids; - for stdin)")
	}
	var b []byte
	var err error
	if args[0] == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(args[0])
	}
	if err != nil {
		return e.fail(fmt.Errorf("reading bid: %w", err))
	}
	ctx, cancel := e.ctx()
	defer cancel()
	var out map[string]any
	if _, err := e.client().Do(ctx, "PUT", "/v1/bids", b, &out); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(out)
	}
	fmt.Fprintf(e.stdout, "Accepted %v bid(s) at index %v\n", out["bids"], out["index"])
	return exitOK
}

func cmdPlan(e *env, args []string) int {
	if len(args) > 0 && args[0] == "explain" {
		return cmdExplain(e, args[1:])
	}
	fs := newFlags("plan", e)
	epoch := fs.Uint64("epoch", 0, "show the plan of this epoch")
	wait := fs.Bool("wait", false, "block until the next plan is committed")
	timeout := fs.Duration("timeout", 5*time.Minute, "longest --wait")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, cancel := e.ctx()
	defer cancel()
	c := e.client()
	var p bidding.Plan
	path := "/v1/plan"
	if *epoch > 0 {
		path += fmt.Sprintf("?epoch=%d", *epoch)
	}
	_, err := c.Do(ctx, "GET", path, nil, &p)
	var ae *api.Error
	if err != nil && !(*wait && errors.As(err, &ae) && ae.Code == 404) {
		return e.fail(err)
	}
	if *wait && *epoch == 0 {
		start := p.Index
		deadline := time.Now().Add(*timeout)
		for p.Index <= start && time.Now().Before(deadline) {
			w := min(time.Until(deadline), 60*time.Second)
			np, err := c.WatchPlan(ctx, start, w.Round(time.Second))
			if err != nil && !api.IsNotFound(err) {
				return e.fail(err)
			}
			if err == nil {
				p = np
			}
		}
		if p.Index <= start {
			return e.fail(fmt.Errorf("no new plan within %s", *timeout))
		}
	}
	if e.g.json {
		return e.printJSON(p)
	}
	fmt.Fprintf(e.stdout, "Epoch %d  index %d  %s  created %s  solve %.2f ms  Jain %.3f\n", p.Epoch, p.Index, p.Hash, p.Created.Format(time.RFC3339), p.Stats.SolveMS, p.Stats.FairnessJain)
	var rows [][]string
	for _, a := range p.Allocations {
		rows = append(rows, []string{a.Service, a.Node, config.FormatQuantity(bidding.CPU, a.CPU), config.FormatQuantity(bidding.Memory, a.Memory),
			config.FormatQuantity(bidding.IO, a.IO), config.FormatQuantity(bidding.Net, a.Net)})
	}
	e.table("Service\tNode\tCPU\tMemory\tIO\tNet", rows)
	for _, pr := range p.Problems {
		fmt.Fprintln(e.stdout, "Problem:", pr)
	}
	return exitOK
}

func cmdExplain(e *env, args []string) int {
	if len(args) != 1 {
		return e.usageErr("plan explain: expected one SERVICE")
	}
	ctx, cancel := e.ctx()
	defer cancel()
	out, err := e.client().Explain(ctx, args[0])
	if err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(out)
	}
	fmt.Fprintf(e.stdout, "Service %s in epoch %d (%s)\n", out.Service, out.Epoch, out.Hash)
	if b := out.Boost; b != nil {
		fmt.Fprintf(e.stdout, "Boost x%g for %d epochs from epoch %d: %s\n", b.Factor, b.TTLEpochs, b.StartEpoch, b.Reason)
	}
	for _, p := range out.Placements {
		fmt.Fprintf(e.stdout, "\nNode %s: weight %g, boost x%g\n", p.Node, p.Weight, p.Boost)
		names := make([]string, 0, len(p.Resources))
		for r := range p.Resources {
			names = append(names, r)
		}
		sort.Strings(names)
		for _, rn := range names {
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
	return exitOK
}

func cmdBoost(e *env, args []string) int {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return e.usageErr("boost: expected SERVICE --factor F --ttl DURATION --reason TEXT")
	}
	name := args[0]
	fs := newFlags("boost", e)
	factor := fs.Float64("factor", 2, "weight multiplier, decaying to 1 over the TTL")
	ttl := fs.String("ttl", "15m", "how long the boost lasts (counted in epochs)")
	reason := fs.String("reason", "", "why (shown in plan explain)")
	clear := fs.Bool("clear", false, "remove the boost")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	ctx, cancel := e.ctx()
	defer cancel()
	var out map[string]any
	var err error
	if *clear {
		_, err = e.client().Do(ctx, "DELETE", "/v1/boost/"+name, nil, &out)
	} else {
		_, err = e.client().Do(ctx, "PUT", "/v1/boost/"+name, api.BoostRequest{Factor: *factor, TTL: *ttl, Reason: *reason}, &out)
	}
	if err != nil {
		return e.fail(err)
	}
	if e.g.json {
		return e.printJSON(out)
	}
	fmt.Fprintf(e.stdout, "Boost for %s: %v\n", name, out["boost"])
	return exitOK
}

// cmdForecast prints forecast vs actual for one service: per node and
// resource the latest epoch's actual and bid quantiles, and the score over
// the epochs kept (coverage of p90/p99, MAE and MASE of p50).
func cmdForecast(e *env, args []string) int {
	fs := newFlags("forecast", e)
	epochs := fs.Int("epochs", 0, "also list the last N epochs of each node and resource")
	var svc []string
	for len(args) > 0 { // SERVICE may come before or after the flags
		if err := fs.Parse(args); err != nil {
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		svc = append(svc, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(svc) != 1 {
		return e.usageErr("forecast: expected one SERVICE (or 'forecast eval …')")
	}
	ctx, cancel := e.ctx()
	defer cancel()
	var v api.ForecastView
	var raw json.RawMessage
	if _, err := e.client().Do(ctx, "GET", "/v1/forecast/"+svc[0], nil, &raw); err != nil {
		return e.fail(err)
	}
	if e.g.json {
		fmt.Fprintln(e.stdout, string(raw))
		return exitOK
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return e.fail(err)
	}
	if len(v.Nodes) == 0 {
		fmt.Fprintf(e.stdout, "No usage reported for %s yet (clients report once per epoch).\n", v.Service)
		return exitOK
	}
	q := func(res bidding.Resource, p *int64) string {
		if p == nil {
			return "-"
		}
		return config.FormatQuantity(res, *p)
	}
	var rows, detail [][]string
	for _, n := range v.Nodes {
		names := make([]string, 0, len(n.Resources))
		for r := range n.Resources {
			names = append(names, r)
		}
		sort.Strings(names)
		for _, rn := range names {
			r := n.Resources[rn]
			res, _ := bidding.ParseResource(rn)
			if len(r.Points) == 0 {
				continue
			}
			last := r.Points[len(r.Points)-1]
			s := r.Summary
			rows = append(rows, []string{n.Node, rn, fmt.Sprint(last.Epoch), config.FormatQuantity(res, last.Actual), q(res, last.P50), q(res, last.P90), q(res, last.P99),
				fmt.Sprintf("%d/%d", s.Forecasts, s.Epochs), fmt.Sprintf("%.2f", s.CoverageP90), fmt.Sprintf("%.2f", s.CoverageP99), config.FormatQuantity(res, int64(s.MAE+0.5)), fmt.Sprintf("%.2f", s.MASE)})
			for _, p := range r.Points[max(0, len(r.Points)-*epochs):] {
				detail = append(detail, []string{n.Node, rn, fmt.Sprint(p.Epoch), config.FormatQuantity(res, p.Actual), q(res, p.P50), q(res, p.P90), q(res, p.P99)})
			}
		}
	}
	fmt.Fprintf(e.stdout, "Forecast vs actual for %s (quantiles of the bid in force; MAE/MASE of p50, MASE against last epoch's actual)\n", v.Service)
	e.table("NODE\tRESOURCE\tEPOCH\tACTUAL\tP50\tP90\tP99\tFORECASTS\tCOV90\tCOV99\tMAE\tMASE", rows)
	if *epochs > 0 {
		fmt.Fprintln(e.stdout)
		e.table("NODE\tRESOURCE\tEPOCH\tACTUAL\tP50\tP90\tP99", detail)
	}
	return exitOK
}

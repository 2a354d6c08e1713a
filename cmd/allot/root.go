package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command groups of the top-level help.
const (
	groupAgent   = "agent"
	groupCluster = "cluster"
	groupAlloc   = "alloc"
	groupACL     = "acl"
	groupTools   = "tools"
)

// globalEnv is the one table of the global flags' environment variables:
// a flag not given on the line takes its variable's value.
var globalEnv = []struct{ flag, env string }{
	{"http-addr", "ALLOT_HTTP_ADDR"},
	{"token", "ALLOT_TOKEN"},
	{"ca-file", "ALLOT_CA_FILE"},
	{"client-cert", "ALLOT_CLIENT_CERT"},
	{"client-key", "ALLOT_CLIENT_KEY"},
	{"tls-server-name", "ALLOT_TLS_SERVER_NAME"},
}

// newRoot builds the one command tree: every command, its flags, help and
// examples. Each call builds a fresh tree bound to e.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "allot",
		Short: "Allot forecasts services' usage, turns forecasts into bids and allocates CPU, memory, I/O and bandwidth",
		Long: `Allot forecasts each service's CPU, memory, disk I/O and network usage, turns the forecasts
into bids, solves one allocation per epoch on a Raft-replicated cluster of servers and enforces
it on every node. The same binary runs the agent (allot agent) and every CLI command, which
talk to an agent's HTTP API.`,
		Example: `  allot agent --dev                     # one process: server + client + demo services
  allot status                          # leader, peers, members, last plan
  allot plan explain web                # why web got what it got
  allot --http-addr 10.0.1.11:7480 members`,
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return e.applyEnv(cmd.Flags())
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			return usagef("a command is required")
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVar(&e.g.httpAddr, "http-addr", "127.0.0.1:7480", "the agent's HTTP API: host:port, or an http(s):// URL (env ALLOT_HTTP_ADDR)")
	pf.StringVar(&e.g.token, "token", "", "ACL token sent as X-Allot-Token (env ALLOT_TOKEN)")
	pf.BoolVar(&e.g.json, "json", false, "print the answer as JSON")
	pf.StringVar(&e.g.caFile, "ca-file", "", "CA certificate to verify the agent with; turns on HTTPS (env ALLOT_CA_FILE)")
	pf.StringVar(&e.g.clientCert, "client-cert", "", "client certificate for mutual TLS (env ALLOT_CLIENT_CERT)")
	pf.StringVar(&e.g.clientKey, "client-key", "", "client certificate's key for mutual TLS (env ALLOT_CLIENT_KEY)")
	pf.StringVar(&e.g.tlsServerName, "tls-server-name", "", "name to verify the agent's certificate under, e.g. server.allot (env ALLOT_TLS_SERVER_NAME)")

	root.AddGroup(
		&cobra.Group{ID: groupAgent, Title: "Agent:"},
		&cobra.Group{ID: groupCluster, Title: "Cluster:"},
		&cobra.Group{ID: groupAlloc, Title: "Allocation:"},
		&cobra.Group{ID: groupACL, Title: "Security:"},
		&cobra.Group{ID: groupTools, Title: "Tools:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupAgent, agentCmd(e))
	add(groupCluster, statusCmd(e), membersCmd(e), joinCmd(e), leaveCmd(e), healthCmd(e), operatorCmd(e), auditCmd(e))
	add(groupAlloc, servicesCmd(e), serviceCmd(e), bidCmd(e), planCmd(e), boostCmd(e), forecastCmd(e), usageCmd(e))
	add(groupACL, aclCmd(e), tlsCmd(e), keygenCmd(e))
	add(groupTools, simCmd(e), benchCmd(e), loadgenCmd(e), versionCmd(e), oomDecoyCmd(e))

	root.SetHelpCommand(&cobra.Command{
		Use:     "help [COMMAND]...",
		Short:   "Help about any command (never runs it)",
		Example: "  allot help plan explain\n  allot plan explain --help   # the same",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return usagef("unknown help topic %q", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	})
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.GroupID = groupTools
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return usagef("expected a shell: bash, zsh, fish or powershell")
			}
			c.Example = "  source <(allot completion bash)\n  allot completion zsh > \"${fpath[1]}/_allot\"\n  allot completion fish > ~/.config/fish/completions/allot.fish"
			for _, s := range c.Commands() {
				s.Example = fmt.Sprintf("  allot completion %s > allot.%s", s.Name(), s.Name())
			}
		}
	}
	wrapRunE(root)
	return root
}

// wrapRunE marks what every command's RunE returns as a failure (exit 1)
// unless it is a usage error: cobra's own errors stay usage errors.
func wrapRunE(c *cobra.Command) {
	if f := c.RunE; f != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error { return fail(f(cmd, args)) }
	}
	for _, s := range c.Commands() {
		wrapRunE(s)
	}
}

// applyEnv fills the global flags not given on the line from the environment.
func (e *env) applyEnv(fs *pflag.FlagSet) error {
	for _, g := range globalEnv {
		f := fs.Lookup(g.flag)
		if f == nil || f.Changed {
			continue
		}
		if v := e.getenv(g.env); v != "" {
			if err := f.Value.Set(v); err != nil {
				return usagef("%s=%q: %v", g.env, v, err)
			}
		}
	}
	return nil
}

// group is a command that only holds subcommands: run bare or with an
// unknown word it is a usage error naming the subcommands.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Example: example}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		if len(args) > 0 {
			return usagef("unknown subcommand %q: expected %s", args[0], strings.Join(names, ", "))
		}
		return usagef("expected a subcommand: %s", strings.Join(names, ", "))
	}
	c.AddCommand(subs...)
	return c
}

// Argument checks that say what was expected, as usage errors.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("expected %s", what)
		}
		return nil
	}
}

// client is the API client for the global flags; a TLS file that cannot
// be loaded is a usage error naming the flag.
func (e *env) client() (*api.Client, error) {
	if !e.tlsLoaded {
		if err := e.loadTLS(); err != nil {
			return nil, &usageError{msg: err.Error()}
		}
		e.tlsLoaded = true
	}
	return api.NewClientTLS(e.g.httpAddr, e.g.token, e.tlsConfig), nil
}

// ctx is cancelled by SIGINT or SIGTERM.
func (e *env) ctx() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// ctxWithin is ctx for d == 0, else a context bounded by d alone.
func (e *env) ctxWithin(d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(context.Background(), d)
	}
	return e.ctx()
}

// query runs one call against the agent, then prints --json or the human
// view. Every command that asks the agent one thing goes through it (or
// queryWithin), so the client, the context and --json work the same in all.
func query[T any](e *env, call func(context.Context, *api.Client) (T, error), human func(T) error) error {
	return queryWithin(e, 0, call, human)
}

// queryWithin is query with the call bounded by d alone instead of by
// SIGINT/SIGTERM (0: by the signals), for the commands that must give up
// on their own: health checks, join and leave.
func queryWithin[T any](e *env, d time.Duration, call func(context.Context, *api.Client) (T, error), human func(T) error) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	ctx, cancel := e.ctxWithin(d)
	defer cancel()
	v, err := call(ctx, c)
	if err != nil {
		return err
	}
	if e.g.json {
		return e.printJSON(v)
	}
	return human(v)
}

// indexed adapts a write answered by its Raft index to query: --json
// prints it as api.WriteResult.
func indexed(call func(context.Context, *api.Client) (uint64, error)) func(context.Context, *api.Client) (api.WriteResult, error) {
	return func(ctx context.Context, c *api.Client) (api.WriteResult, error) {
		idx, err := call(ctx, c)
		return api.WriteResult{Index: idx}, err
	}
}

// printJSON writes v as one indented JSON document.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// table writes a header and rows aligned in columns.
func (e *env) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// completeServices completes a SERVICE argument with the registered
// services' names, asked of the agent (quietly nothing when it does not answer).
func (e *env) completeServices(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if err := e.applyEnv(cmd.Flags()); err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := e.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	svcs, err := c.Services(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, s := range svcs {
		if strings.HasPrefix(s.Name, toComplete) {
			names = append(names, s.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

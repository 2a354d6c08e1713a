package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/allot-dev/allot/agent"
	"github.com/allot-dev/allot/config"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// delegated is a command whose flags another package parses (config.Load,
// sim.Main, …): cobra passes the words through untouched, and help —
// -h/--help anywhere before "--", or `allot help CMD` — prints the
// command's text and then the package's own flag list, running nothing.
func delegated(c *cobra.Command, flagHelp func(w io.Writer)) *cobra.Command {
	c.DisableFlagParsing = true
	c.SetHelpFunc(func(cmd *cobra.Command, _ []string) {
		w := cmd.OutOrStdout()
		text := cmd.Long
		if text == "" {
			text = cmd.Short
		}
		fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", strings.TrimSpace(text), cmd.UseLine())
		if cmd.Example != "" {
			fmt.Fprintf(w, "\nExamples:\n%s\n", cmd.Example)
		}
		fmt.Fprintln(w, "\nFlags:")
		flagHelp(w)
	})
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if helpArg(args) {
			return cmd.Help()
		}
		return run(cmd, args)
	}
	return c
}

func agentCmd(e *env) *cobra.Command {
	return delegated(&cobra.Command{
		Use:   "agent [flags]",
		Short: "Run an agent: a server (Raft voter), a client (forecast, bid, enforce) or both",
		Long: `Run an agent. A server keeps the replicated state and, as leader, solves one plan per epoch;
a client measures its node's services, forecasts them, bids and enforces its share of each plan.
Settings come from config files (--config, HCL or JSON), ALLOT_* environment variables and
flags, later ones winning; docs/CONFIG.md lists every setting. An invalid configuration exits 2
before anything binds a port.`,
		Example: `  allot agent --dev                                   # server + client + demo services, in memory
  allot agent --config /etc/allot/allot.hcl           # a real node (docs/NODE.md)
  allot agent --server --bootstrap-expect 3 --data-dir /var/lib/allot --join 10.0.1.11`,
		RunE: func(cmd *cobra.Command, args []string) error { return e.runAgent(args) },
	}, func(w io.Writer) {
		// config.Load prints its flags on -h and returns flag.ErrHelp.
		_, _ = config.Load([]string{"-h"}, func(string) string { return "" }, &skipFirstLine{w: w})
	})
}

// skipFirstLine drops config.Load's own "Usage:" line from its flag list.
type skipFirstLine struct {
	w    io.Writer
	done bool
}

func (s *skipFirstLine) Write(p []byte) (int, error) {
	n := len(p)
	if !s.done {
		i := strings.IndexByte(string(p), '\n')
		if i < 0 {
			return n, nil
		}
		s.done = true
		p = p[i+1:]
	}
	_, err := s.w.Write(p)
	return n, err
}

func (e *env) runAgent(args []string) error {
	cfg, err := config.Load(args, e.getenv, e.stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) || strings.Contains(err.Error(), flag.ErrHelp.Error()) {
			return nil
		}
		fmt.Fprintln(e.stderr, "allot agent: config:", err)
		return exitStatus(exitUsage)
	}
	level := hclog.LevelFromString(cfg.LogLevel)
	log := hclog.New(&hclog.LoggerOptions{Name: "allot", Level: level, Output: e.stderr, JSONFormat: cfg.LogJSON})
	ctx, cancel := e.ctx()
	defer cancel()
	a := agent.New(cfg, log, version)
	a.SetOutput(e.stdout)
	if exe, err := os.Executable(); err == nil {
		a.SetDecoy(exe, "oom-decoy")
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	if cfg.Dev {
		// Wait for the API to say where it is.
		for a.HTTPAddr() == "" {
			select {
			case err := <-errc:
				return e.agentExit(err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		fmt.Fprintf(e.stdout, "Allot dev agent: API %s://%s/v1/  UI %s://%s/ui/  (Ctrl-C to stop)\n", a.Scheme(), a.HTTPAddr(), a.Scheme(), a.HTTPAddr())
	}
	return e.agentExit(<-errc)
}

// agentExit prints why the agent stopped, as it always has ("allot agent:
// …", which supervisors and the e2e suite match), and exits 1.
func (e *env) agentExit(err error) error {
	if err != nil {
		fmt.Fprintln(e.stderr, "allot agent:", err)
		return exitStatus(exitErr)
	}
	return nil
}

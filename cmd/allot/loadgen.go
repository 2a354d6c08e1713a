package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/allot-dev/allot/loadgen"
)

// cmdLoadgen runs `allot loadgen`: a real process using what it is told
// (package loadgen), reporting asked vs got as JSON lines on stdout. It
// stops cleanly on SIGINT/SIGTERM or after --duration.
func cmdLoadgen(e *env, args []string) int {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprint(e.stdout, loadgen.Usage)
			return exitOK
		}
	}
	o, err := loadgen.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, loadgen.Usage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "allot:", err)
		return exitUsage
	}
	ctx, cancel := e.ctx()
	defer cancel()
	if err := loadgen.Run(ctx, o, e.stdout); err != nil {
		return e.fail(fmt.Errorf("loadgen: %w", err))
	}
	return exitOK
}

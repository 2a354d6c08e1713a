package main

import (
	"github.com/allot-dev/allot/bidding/bench"
	"github.com/allot-dev/allot/forecast/eval"
	"github.com/allot-dev/allot/sim"
)

func cmdBench(e *env, args []string) int {
	if len(args) == 0 || args[0] != "solver" {
		return e.usageErr("bench: expected 'bench solver --services N [--nodes M] [--json]'")
	}
	return bench.Main(args[1:], e.stdout, e.stderr)
}

func cmdForecastEval(e *env, args []string) int {
	return eval.Main(args, e.stdout, e.stderr)
}

func cmdSim(e *env, args []string) int {
	return sim.Main(args, e.stdout, e.stderr)
}

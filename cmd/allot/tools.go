package main

import (
	"github.com/allot-dev/allot/bidding/bench"
	"github.com/allot-dev/allot/clusterbench"
	"github.com/allot-dev/allot/forecast/eval"
	"github.com/allot-dev/allot/sim"
)

func cmdBench(e *env, args []string) int {
	switch {
	case len(args) > 0 && args[0] == "solver":
		return bench.Main(args[1:], e.stdout, e.stderr)
	case len(args) > 0 && args[0] == "cluster":
		return clusterbench.Main(args[1:], e.stdout, e.stderr)
	}
	return e.usageErr("bench: expected 'bench solver --services N [--nodes M] [--json]' or 'bench cluster [--nodes N] [--services-per-node S] [--epochs E] [--epoch D] [--json]'")
}

func cmdForecastEval(e *env, args []string) int {
	return eval.Main(args, e.stdout, e.stderr)
}

func cmdSim(e *env, args []string) int {
	return sim.Main(args, e.stdout, e.stderr)
}

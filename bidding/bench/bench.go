// Package bench implements `allot bench solver`: it builds a seeded random
// instance, solves it, and times sort.Float64s on as many values in the same
// run as the physical floor the solve time is compared with.
package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/allot-dev/allot/internal/cliflag"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Result is the JSON document `allot bench solver --json` prints.
type Result struct {
	Services    int      `json:"services"`
	Nodes       int      `json:"nodes"`
	Placements  int      `json:"placements"`
	SolveMS     float64  `json:"solve_ms"`
	SortMS      float64  `json:"sort_ms"`
	Ratio       float64  `json:"ratio"`
	Objective   float64  `json:"objective"`
	Gap         float64  `json:"gap"`
	Hash        string   `json:"hash"`
	LPObjective *float64 `json:"lp_objective,omitempty"`
	Iterations  int      `json:"iterations"`
	CapsBinding int      `json:"caps_binding"`
	// BudgetPrices is set with --budget: each budget row's shadow price.
	BudgetPrices map[string]float64 `json:"budget_prices,omitempty"`
	Fallback     bool               `json:"fallback,omitempty"`
	Repeat       int                `json:"repeat"`
	Explain      bool               `json:"explain"`
}

// Main runs `allot bench solver` with args (the words "bench solver"
// excluded) and returns the exit code: 0 ok, 1 error, 2 usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("allot bench solver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	services := fs.Int("services", 0, "number of services (required)")
	nodes := fs.Int("nodes", 0, "number of nodes (default: services/100, at least 1)")
	seed := fs.Uint64("seed", 1, "random seed of the instance")
	mps := fs.String("mps", "", "also write the LP in free MPS format to `FILE`")
	asJSON := fs.Bool("json", false, "print one JSON document")
	repeat := fs.Int("repeat", 5, "timed runs of each of solve and sort; the best of each is reported")
	budget := fs.Float64("budget", 0, "cluster budget per resource as a fraction `F` of the cluster's capacity (0: none)")
	explain := fs.Bool("explain", false, "build every placement's explanation inside Solve (the default skips them: served on demand by bidding.Explain)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: allot bench solver --services N [--nodes M] [--seed S] [--budget F] [--mps FILE] [--repeat K] [--json]")
		fs.PrintDefaults()
	}
	if err := cliflag.Parse(fs, args, stderr); err != nil {
		return cliflag.Exit("allot bench solver", err, stderr)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "allot bench solver: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *services < 1 || *services > 10_000_000 {
		fmt.Fprintf(stderr, "allot bench solver: --services %d: must be in [1, 10000000]\n", *services)
		return 2
	}
	if *nodes == 0 {
		*nodes = max(1, *services/100)
	}
	if *nodes < 1 || *nodes > 100_000 {
		fmt.Fprintf(stderr, "allot bench solver: --nodes %d: must be in [1, 100000]\n", *nodes)
		return 2
	}
	if !(*budget >= 0 && *budget <= 1) {
		fmt.Fprintf(stderr, "allot bench solver: --budget %v: must be in [0, 1]\n", *budget)
		return 2
	}
	if *repeat < 1 || *repeat > 1000 {
		fmt.Fprintf(stderr, "allot bench solver: --repeat %d: must be in [1, 1000]\n", *repeat)
		return 2
	}
	res, err := Run(Config{Services: *services, Nodes: *nodes, Seed: *seed, Repeat: *repeat, MPS: *mps, Explain: *explain, Budget: *budget})
	if err != nil {
		fmt.Fprintf(stderr, "allot bench solver: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "allot bench solver: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "services %d  nodes %d  placements %d\nsolve %.3f ms  sort %.3f ms  ratio %.2f\nobjective %.9g  gap %.3g  iterations %d  caps binding %d\nhash %s\n",
		res.Services, res.Nodes, res.Placements, res.SolveMS, res.SortMS, res.Ratio, res.Objective, res.Gap, res.Iterations, res.CapsBinding, res.Hash)
	if res.LPObjective != nil {
		fmt.Fprintf(stdout, "lp_objective %.12g (MPS written to %s)\n", *res.LPObjective, *mps)
	}
	return 0
}

// Config is one benchmark run.
type Config struct {
	Services, Nodes int
	Seed            uint64
	Repeat          int     // timed runs of each of solve and sort
	MPS             string  // if set, write the LP there
	Explain         bool    // build explanations inside Solve
	Budget          float64 // cluster budget per resource, as a fraction of the cluster's capacity (0: none)
}

// Run builds the instance, solves it Repeat times and sorts N values Repeat
// times, and reports the best time of each. With MPS it also writes the LP.
func Run(cfg Config) (*Result, error) {
	services, nodes, seed, repeat, mpsPath := cfg.Services, cfg.Nodes, cfg.Seed, max(cfg.Repeat, 1), cfg.MPS
	p, err := Instance(services, nodes, seed)
	if err != nil {
		return nil, err
	}
	p.Options.SkipExplain = !cfg.Explain
	if cfg.Budget > 0 {
		for _, r := range bidding.Resources() {
			var total int64
			for _, n := range p.Nodes {
				total += n.Capacity[r]
			}
			p.Options.Budget[r] = int64(float64(cfg.Budget * float64(total)))
		}
	}
	res := &Result{Services: services, Nodes: nodes, Placements: len(p.Bids), Repeat: repeat, Explain: cfg.Explain}
	var plan *bidding.Plan
	solveBest, sortBest := time.Duration(1<<62), time.Duration(1<<62)
	rng := rand.New(rand.NewPCG(seed, 7))
	vals := make([]float64, services)
	var solver bidding.Solver // reused across runs, as a leader reuses it across epochs
	for range repeat {
		runtime.GC()
		t0 := time.Now()
		pl, err := solver.Solve(p)
		d := time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("solve: %w", err)
		}
		if plan != nil && pl.Hash != plan.Hash {
			return nil, fmt.Errorf("solve: two runs gave different hashes %s and %s", plan.Hash, pl.Hash)
		}
		plan, solveBest = pl, min(solveBest, d)

		for i := range vals {
			vals[i] = rng.Float64()
		}
		runtime.GC()
		t0 = time.Now()
		sort.Float64s(vals)
		sortBest = min(sortBest, time.Since(t0))
	}
	res.SolveMS = ms(solveBest)
	res.SortMS = ms(sortBest)
	res.Ratio = float64(solveBest) / float64(max(sortBest, 1))
	res.Objective, res.Gap, res.Hash = plan.Stats.Objective, plan.Stats.Gap, plan.Hash
	res.Iterations, res.Fallback = plan.Stats.Iterations, plan.Stats.Fallback
	res.CapsBinding = plan.Stats.CapsBinding
	res.BudgetPrices = plan.Stats.BudgetPrices
	if mpsPath != "" {
		if err := writeMPS(mpsPath, p); err != nil {
			return nil, err
		}
		obj := plan.Stats.Objective
		res.LPObjective = &obj
	}
	return res, nil
}

func writeMPS(path string, p bidding.Problem) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("mps: %w", err)
	}
	if err := bidding.WriteMPS(f, p); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mps: %w", err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

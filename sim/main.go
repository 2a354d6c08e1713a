package sim

import (
	"errors"
	"flag"
	"fmt"
	"github.com/allot-dev/allot/internal/cliflag"
	"github.com/allot-dev/allot/internal/term"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Options are the command line of `allot sim`.
type Options struct {
	Trace      string
	Policies   []string
	Out        string
	JSON       bool
	Scenario   string
	Days       float64
	Warmup     float64
	Seed       uint64
	Services   int
	Nodes      int
	Breaches   int
	Contention []float64
	Workers    int
	Progress   bool
	Observe    string
	Borrow     string // --memory-borrow: how the Allot client enforces memory (Borrows)
	// Set records the flags given explicitly: they override a scenario file.
	Set map[string]bool
}

type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil { // the flag package's zero value, when it prints defaults
		return ""
	}
	return strings.Join(*l.v, ",")
}
func (l listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.v = append(*l.v, p)
		}
	}
	return nil
}

type floatsFlag struct{ v *[]float64 }

func (f floatsFlag) String() string {
	if f.v == nil { // the flag package's zero value, when it prints defaults
		return ""
	}
	return fmt.Sprint(*f.v)
}
func (f floatsFlag) Set(s string) error {
	*f.v = nil
	for _, p := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || x <= 0 {
			return fmt.Errorf("%q is not a positive number", p)
		}
		*f.v = append(*f.v, x)
	}
	return nil
}

// ParseArgs parses the arguments of `allot sim` (without "sim").
func ParseArgs(args []string, stderr io.Writer) (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet("allot sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: allot sim --trace DIR [--policy P...] [--out DIR] [--json] [--scenario FILE] [--days D] [--seed S]")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Trace, "trace", "", "directory of CSV traces (every CSV below it; each numeric column is a candidate series)")
	fs.Var(listFlag{&o.Policies}, "policy", "policy to replay (repeatable or comma-separated): "+strings.Join(AllPolicies(), ", ")+" (default all; the oracle is always replayed)")
	fs.StringVar(&o.Out, "out", "", "directory for PNG plots")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON document instead of the table")
	fs.StringVar(&o.Scenario, "scenario", "", "scenario file (HCL or JSON) describing nodes, services, classes and series")
	fs.Float64Var(&o.Days, "days", 7, "evaluated days")
	fs.Float64Var(&o.Warmup, "warmup", 2, "days of history observed before the evaluated window")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated scenario")
	fs.IntVar(&o.Services, "services", 24, "services in the generated scenario (default: up to 24, as many as the traces offer)")
	fs.IntVar(&o.Nodes, "nodes", 4, "nodes in the generated scenario")
	fs.IntVar(&o.Breaches, "breaches", 8, "SLA breaches injected in the generated scenario")
	o.Contention = []float64{0.8, 1.0, 1.2}
	fs.Var(floatsFlag{&o.Contention}, "contention", "contention levels Σp95/capacity, comma-separated")
	fs.IntVar(&o.Workers, "workers", runtime.GOMAXPROCS(0), "parallel workers")
	fs.BoolVar(&o.Progress, "progress", term.IsTerminal(stderr), "progress bar on stderr (default: only when stderr is a terminal)")
	fs.StringVar(&o.Observe, "observe", ObserveDemand, "what Allot's forecasters observe: demand (cpu and memory at their true demand), client (as the node client: the demand, but nothing in an epoch the kernel held back unprobed) or capped (usage capped at the allocation)")
	fs.StringVar(&o.Borrow, "memory-borrow", BorrowOn, "how the Allot client enforces memory (client.memory_borrow): on (the default: a reservation; the node's kernel kills only when its memory is all used, the service furthest above its reservation first, and the OOM decoy takes any second kill), off (the allocation is a hard limit) or second-kill (on, with one more kill on every node that kills: the bound without the decoy)")
	if err := cliflag.Parse(fs, args, stderr); err != nil {
		return nil, err
	}
	o.Set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.Set[f.Name] = true })
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.Trace == "" && o.Scenario == "" {
		return nil, errors.New("--trace DIR or --scenario FILE is required")
	}
	if o.Days <= 0 || o.Warmup < 0 || o.Services < 1 || o.Nodes < 1 || o.Workers < 1 || o.Breaches < 0 {
		return nil, errors.New("--days, --services, --nodes and --workers must be positive, --warmup and --breaches not negative")
	}
	if o.Observe != ObserveDemand && o.Observe != ObserveCapped && o.Observe != ObserveClient {
		return nil, fmt.Errorf("--observe %q: allowed: %s, %s, %s", o.Observe, ObserveDemand, ObserveClient, ObserveCapped)
	}
	if !slices.Contains(Borrows(), o.Borrow) {
		return nil, fmt.Errorf("--memory-borrow %q: allowed: %s", o.Borrow, strings.Join(Borrows(), ", "))
	}
	if len(o.Policies) == 0 {
		o.Policies = AllPolicies()
	}
	for _, p := range o.Policies {
		if !validPolicy(p) {
			return nil, fmt.Errorf("--policy %q: allowed: %s", p, strings.Join(AllPolicies(), ", "))
		}
	}
	return o, nil
}

func validPolicy(p string) bool {
	for _, q := range AllPolicies() {
		if p == q {
			return true
		}
	}
	return false
}

// Main implements `allot sim` (args exclude "sim"): exit 0 on success, 1 on
// an error, 2 on a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	o, err := ParseArgs(args, stderr)
	if err != nil {
		return cliflag.Exit("allot sim", err, stderr)
	}
	if err := run(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "allot sim: %v\n", err)
		return 1
	}
	return 0
}

// Simulate builds the scenario and replays it; it is Main without the I/O.
func Simulate(o *Options, stderr io.Writer) (*Result, []float64, []string, error) {
	sc, err := loadScenario(o)
	if err != nil {
		return nil, nil, nil, err
	}
	w, err := Build(sc)
	if err != nil {
		return nil, nil, nil, err
	}
	w.Borrow = o.Borrow
	contention := sc.Contention
	if len(contention) == 0 || o.Set["contention"] {
		contention = o.Contention
	}
	policies := withOracle(o.Policies)
	var bar *progress
	var done atomic.Int64
	if o.Progress && stderr != nil {
		bar = startProgress(stderr, &done, int64(w.Steps)*int64(len(w.Svcs)+len(contention)*len(policies)))
		defer bar.stop()
	}
	f, err := RunForecasts(w, o.Workers, &done)
	if err != nil {
		return nil, nil, nil, err
	}
	record := contention[0]
	for _, c := range contention {
		if c == 1 {
			record = c
		}
	}
	res, err := Replay(w, f, policies, contention, o.Observe, record, o.Workers, &done)
	if err != nil {
		return nil, nil, nil, err
	}
	return res, contention, policies, nil
}

// withOracle appends the oracle when not asked for: utility ratios need it.
func withOracle(ps []string) []string {
	for _, p := range ps {
		if p == PolicyOracle {
			return ps
		}
	}
	return append(append([]string(nil), ps...), PolicyOracle)
}

func run(o *Options, stdout, stderr io.Writer) error {
	began := time.Now()
	res, contention, policies, err := Simulate(o, stderr)
	if err != nil {
		return err
	}
	rep := NewReport(res, contention, policies)
	if o.Out != "" {
		if err := WritePlots(res, contention, policies, o.Out); err != nil {
			return err
		}
	}
	rep.Seconds = time.Since(began).Seconds()
	if o.JSON {
		return rep.WriteJSON(stdout)
	}
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%.1f s", rep.Seconds)
	if o.Out != "" {
		fmt.Fprintf(stdout, "; plots in %s", o.Out)
	}
	fmt.Fprintln(stdout)
	return nil
}

func loadScenario(o *Options) (*Scenario, error) {
	epoch := 5 * time.Minute
	if o.Scenario != "" {
		sc, err := LoadScenarioFile(o.Scenario, o.Trace)
		if err != nil {
			return nil, err
		}
		if o.Set["days"] {
			sc.Days = o.Days
		}
		if o.Set["warmup"] {
			sc.WarmupDays = o.Warmup
		}
		return sc, nil
	}
	series, _, err := LoadTraces(o.Trace, epoch)
	if err != nil {
		return nil, err
	}
	return DefaultScenario(series, GenOptions{Services: o.Services, Nodes: o.Nodes, Days: o.Days, Warmup: o.Warmup, Seed: o.Seed, Breaches: o.Breaches, Epoch: epoch, UpTo: !o.Set["services"]})
}

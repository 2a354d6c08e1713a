package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
)

// Options is one loadgen run. Every rate is in the unit of its flag and of
// the JSON lines: cores, bytes, bytes/s, bits/s.
type Options struct {
	CPU    float64 // cores
	Memory float64 // bytes
	// MemoryOf is what --memory sizes: "process" (its anonymous resident
	// memory, the default) or "cgroup" (its cgroup's usage, page cache and
	// all: what a memory limit counts; for a load generator alone in its
	// container).
	MemoryOf string
	IO       float64 // bytes/s
	Net      float64 // bits/s

	IOFile string // --io-file ("" = a temporary file, removed at the end)
	To     string // --to HOST:PORT for --net
	Listen string // --listen ADDR: be a sink instead

	Trace  string           // --trace FILE
	Column string           // --column NAME|INDEX, or RESOURCE,RESOURCE,...
	Scale  float64          // --scale (default 1), applied to every column
	As     bidding.Resource // what a single column drives
	Loop   bool

	Step     time.Duration // default 1s
	Duration time.Duration // 0 = until the context ends; counted from Start
	Start    time.Time     // --start: the step clock's origin (zero = when Run starts)

	use    [bidding.NumResources]bool // the resources asked for (set by Parse)
	cols   []string                   // the trace columns read (set by Parse)
	drives []bidding.Resource         // the resource each of cols drives
}

// What --memory sizes (Options.MemoryOf).
const (
	MemoryOfProcess = "process"
	MemoryOfCgroup  = "cgroup"
)

// UsageError is a bad command line: the caller exits 2 with its message.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// Usage is the help text of `allot loadgen`.
const Usage = `Usage: allot loadgen [flags]
  --cpu CORES          busy threads with a duty cycle summing to CORES ("1.5", "250m")
  --memory BYTES       allocate, touch and keep resident ("256MiB")
  --memory-of process|cgroup   what --memory sizes: the process's anonymous memory (default) or,
                       alone in a container, its cgroup's usage (what a memory limit counts)
  --io BYTES/S         paced O_DIRECT writes ("50MiB/s") to --io-file PATH (default: a temp file, removed)
  --net BITS/S --to HOST:PORT   a paced TCP sender ("200Mbit")
  --listen ADDR        a TCP sink: accept, discard, report received bits/s
  --trace FILE --column NAME|INDEX [--scale X] [--as cpu|memory|io|net] [--loop]
                       one CSV row per step, value*scale in the resource's unit
  --trace FILE --column RES,RES,... [--scale X] [--loop]
                       several columns, each named after the resource it drives (cpu, memory, io, net)
  --step D (1s)        --duration D (0: until SIGINT/SIGTERM; counted from --start)
  --start TIME         the step clock's origin, RFC3339 or Unix seconds ("1765047600.5"):
                       step n runs over [start+n*step, start+(n+1)*step) and replays row n;
                       waits for a future start, joins a past one at the step the clock says
Prints one JSON line per step: {"t","step","secs","asked":{...},"got":{...}}.
`

// Parse reads loadgen's command line. Errors are *UsageError, one line each,
// naming the flag.
func Parse(args []string) (Options, error) {
	o := Options{Scale: 1, Step: time.Second}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	quantity := func(name string, r bidding.Resource, dst *float64) {
		fs.Func(name, "", func(s string) error {
			v, err := config.ParseQuantity(r, s)
			if err != nil {
				return err
			}
			if r == bidding.CPU {
				*dst = float64(v) / 1000
			} else {
				*dst = float64(v)
			}
			return nil
		})
	}
	quantity("cpu", bidding.CPU, &o.CPU)
	quantity("memory", bidding.Memory, &o.Memory)
	fs.StringVar(&o.MemoryOf, "memory-of", MemoryOfProcess, "")
	quantity("io", bidding.IO, &o.IO)
	quantity("net", bidding.Net, &o.Net)
	fs.StringVar(&o.IOFile, "io-file", "", "")
	fs.StringVar(&o.To, "to", "", "")
	fs.StringVar(&o.Listen, "listen", "", "")
	fs.StringVar(&o.Trace, "trace", "", "")
	fs.StringVar(&o.Column, "column", "", "")
	fs.Float64Var(&o.Scale, "scale", 1, "")
	as := ""
	fs.StringVar(&as, "as", "", "")
	fs.BoolVar(&o.Loop, "loop", false, "")
	fs.DurationVar(&o.Step, "step", time.Second, "")
	fs.DurationVar(&o.Duration, "duration", 0, "")
	fs.Func("start", "", func(s string) (err error) {
		o.Start, err = parseStart(s)
		return err
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageErr("loadgen: %s", oneLine(err.Error()))
	}
	if fs.NArg() > 0 {
		return o, usageErr("loadgen: unexpected argument %q (every setting is a flag)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return o, o.check(set, as)
}

func (o *Options) check(set map[string]bool, as string) error {
	switch {
	case o.Step <= 0:
		return usageErr("loadgen: invalid value %q for flag --step: must be positive", o.Step)
	case o.Duration < 0:
		return usageErr("loadgen: invalid value %q for flag --duration: must be 0 (until a signal) or positive", o.Duration)
	case o.Scale < 0 || o.Scale != o.Scale:
		return usageErr("loadgen: invalid value %v for flag --scale: must be a non-negative number", o.Scale)
	case o.MemoryOf != MemoryOfProcess && o.MemoryOf != MemoryOfCgroup:
		return usageErr("loadgen: invalid value %q for flag --memory-of: want %s or %s", o.MemoryOf, MemoryOfProcess, MemoryOfCgroup)
	}
	if o.Trace == "" {
		for _, f := range []string{"column", "as", "loop", "scale"} {
			if set[f] {
				return usageErr("loadgen: flag --%s needs --trace", f)
			}
		}
	} else {
		if o.Column == "" {
			return usageErr("loadgen: flag --trace needs --column NAME|INDEX")
		}
		if err := o.checkColumns(set, as); err != nil {
			return err
		}
	}
	if o.Listen != "" {
		for _, f := range []string{"cpu", "memory", "io", "net", "to", "trace", "io-file"} {
			if set[f] {
				return usageErr("loadgen: flag --listen makes a sink; it does not combine with --%s", f)
			}
		}
		if _, _, err := net.SplitHostPort(o.Listen); err != nil {
			return usageErr("loadgen: invalid value %q for flag --listen: want HOST:PORT", o.Listen)
		}
		return nil
	}
	netUsed := o.Net > 0 || set["net"] || slices.Contains(o.drives, bidding.Net)
	if netUsed {
		if o.To == "" {
			return usageErr("loadgen: flag --net needs --to HOST:PORT")
		}
		if _, p, err := net.SplitHostPort(o.To); err != nil || p == "" || p == "0" {
			return usageErr("loadgen: invalid value %q for flag --to: want HOST:PORT", o.To)
		}
	} else if o.To != "" {
		return usageErr("loadgen: flag --to needs --net")
	}
	ioUsed := set["io"] || slices.Contains(o.drives, bidding.IO)
	if o.IOFile != "" && !ioUsed {
		return usageErr("loadgen: flag --io-file needs --io")
	}
	o.use = [bidding.NumResources]bool{set["cpu"], set["memory"], ioUsed, netUsed}
	for _, r := range o.drives {
		o.use[r] = true
	}
	if o.use == [bidding.NumResources]bool{} {
		return usageErr("loadgen: nothing to do: give --cpu, --memory, --io, --net, --trace or --listen")
	}
	return nil
}

// checkColumns reads --column (and --as) into o.cols and o.drives. One
// column drives --as, else the resource it is named after, else cpu;
// several columns must each be named after a resource, each a different one.
func (o *Options) checkColumns(set map[string]bool, as string) error {
	names := strings.Split(o.Column, ",")
	if len(names) == 1 {
		switch {
		case as != "":
			r, err := bidding.ParseResource(as)
			if err != nil {
				return usageErr("loadgen: invalid value %q for flag --as: want cpu, memory, io or net", as)
			}
			o.As = r
		default: // a column named after a resource drives it; anything else drives cpu
			o.As = bidding.CPU
			if r, err := bidding.ParseResource(strings.ToLower(o.Column)); err == nil {
				o.As = r
			}
		}
		if set[o.As.String()] {
			return usageErr("loadgen: flag --%s and --trace both set %s; give one", o.As, o.As)
		}
		o.cols, o.drives = []string{o.Column}, []bidding.Resource{o.As}
		return nil
	}
	if as != "" {
		return usageErr("loadgen: flag --as picks the resource of a single column; with several (--column %s) each is named after its resource", o.Column)
	}
	by := map[bidding.Resource]string{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		r, err := bidding.ParseResource(strings.ToLower(n))
		if err != nil {
			return usageErr("loadgen: invalid value %q for flag --column: with several columns each must be cpu, memory, io or net, not %q", o.Column, n)
		}
		if prev, dup := by[r]; dup {
			return usageErr("loadgen: invalid value %q for flag --column: %s is listed twice (%q and %q)", o.Column, r, prev, n)
		}
		if set[r.String()] {
			return usageErr("loadgen: flag --%s and --trace column %q both set %s; give one", r, n, r)
		}
		by[r] = n
		o.cols = append(o.cols, n)
		o.drives = append(o.drives, r)
	}
	return nil
}

// parseStart reads --start: RFC3339 with optional fraction, or Unix
// seconds with optional fraction (parsed exactly, to the nanosecond).
func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	sec, frac, hasFrac := strings.Cut(s, ".")
	digits := func(d string) bool {
		return d != "" && strings.Trim(d, "0123456789") == ""
	}
	if !digits(sec) || (hasFrac && !digits(frac)) || len(sec) > 12 {
		return time.Time{}, fmt.Errorf("want RFC3339 (2026-12-06T19:00:00.5Z) or Unix seconds (1765047600.5)")
	}
	n, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000000")[:9] // nanoseconds; finer digits are dropped
	ns, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(n, ns), nil
}

// oneLine keeps the flag package's message on one line.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// Uses reports which resources the run asks for, in canonical order.
func (o *Options) Uses() [bidding.NumResources]bool { return o.use }

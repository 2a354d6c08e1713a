// Package demo is what `allot agent --dev` manages: a few services whose
// usage replays bundled real traces (NAB CloudWatch), one 5-minute trace
// step per epoch. It is a workload runtime for the node client (package
// client), which measures, forecasts, bids and enforces for it exactly as
// for real services: the demo only supplies the usage (client.Replayer) and
// prints what enforcement would do (the dry-run driver). It has no loop of
// its own.
package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
)

//go:embed data/*.csv
var traces embed.FS

// series is one resource of one demo service.
type series struct {
	resource bidding.Resource
	file     string
	scale    float64 // trace unit -> base units
	values   []float64
}

type service struct {
	def    bidding.Service
	series []*series
}

// Demo replays the traces as a workload runtime.
type Demo struct {
	svcs   []*service
	warmup int
	dry    *enforce.DryRun
	out    io.Writer
}

// stepInterval is the traces' interval: one trace step per epoch.
const stepInterval = 5 * time.Minute

// New loads the demo services' traces; out receives what enforcement would do.
func New(out io.Writer) (*Demo, error) {
	mk := func(name string, class bidding.Class, minCPU int64, ss ...*series) *service {
		return &service{def: bidding.Service{Name: name, Class: class, Min: bidding.Vec{minCPU, 0, 0, 0}}, series: ss}
	}
	// CPU traces are % of one core: ×10 gives millicores. Network is bytes
	// per 5 minutes: ×8/300 gives bits/s.
	cpu := func(f string) *series { return &series{resource: bidding.CPU, file: f, scale: 10} }
	d := &Demo{warmup: 576, dry: &enforce.DryRun{Out: out}, out: out, svcs: []*service{
		mk("api", bidding.ClassStandard, 100, cpu("ec2_cpu_utilization_825cc2.csv")),
		mk("batch", bidding.ClassBatch, 50, cpu("rds_cpu_utilization_cc0c53.csv")),
		mk("search", bidding.ClassStandard, 100, cpu("ec2_cpu_utilization_ac20cd.csv")),
		mk("web", bidding.ClassCritical, 200, cpu("ec2_cpu_utilization_5f5533.csv"), &series{resource: bidding.Net, file: "ec2_network_in_257a54.csv", scale: 8.0 / 300}),
	}}
	for _, s := range d.svcs {
		for _, se := range s.series {
			v, err := LoadTrace(se.file)
			if err != nil {
				return nil, err
			}
			se.values = v
		}
	}
	return d, nil
}

// LoadTrace reads a bundled trace's value column.
func LoadTrace(name string) ([]float64, error) {
	b, err := traces.ReadFile("data/" + name)
	if err != nil {
		return nil, fmt.Errorf("reading trace %s: %w", name, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parsing trace %s: %w", name, err)
	}
	var out []float64
	for i, r := range rows {
		if i == 0 || len(r) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trace %s has no values", name)
	}
	return out, nil
}

// Name implements workload.Runtime.
func (d *Demo) Name() string { return "demo" }

// Discover implements workload.Runtime: the demo services (no instances:
// their usage is replayed, not measured).
func (d *Demo) Discover(context.Context) ([]workload.Service, error) {
	out := make([]workload.Service, len(d.svcs))
	for i, s := range d.svcs {
		out[i] = workload.Service{Def: s.def}
	}
	return out, nil
}

// Apply implements workload.Runtime: it prints what it would enforce.
func (d *Demo) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	return d.dry.Apply(ctx, allocs)
}

// Announce implements client.Announcer: a header for the plan whose
// allocations the dry run prints next.
func (d *Demo) Announce(p bidding.Plan) {
	h := p.Hash
	if len(h) > 19 {
		h = h[:19] + "…"
	}
	fmt.Fprintf(d.out, "epoch %d committed (index %d, %s, solve %.2f ms):\n", p.Epoch, p.Index, h, p.Stats.SolveMS)
}

// Step implements client.Replayer: the traces' interval.
func (d *Demo) Step() time.Duration { return stepInterval }

// History implements client.Replayer: the trace before the replay starts.
func (d *Demo) History(name string) map[bidding.Resource][]float64 {
	out := map[bidding.Resource][]float64{}
	for _, s := range d.svcs {
		if s.def.Name != name {
			continue
		}
		for _, se := range s.series {
			h := make([]float64, 0, d.warmup)
			for i := 0; i < d.warmup && i < len(se.values); i++ {
				h = append(h, se.values[i]*se.scale)
			}
			out[se.resource] = h
		}
	}
	return out
}

// Replay implements client.Replayer: the trace value n steps after the
// history, wrapping at the end of the trace.
func (d *Demo) Replay(name string, n int) usage.Usage {
	var u usage.Usage
	for _, s := range d.svcs {
		if s.def.Name != name {
			continue
		}
		for _, se := range s.series {
			v := se.values[(d.warmup+n)%len(se.values)] * se.scale
			u.Value[se.resource], u.Have[se.resource] = math.Max(v, 0), true
		}
	}
	return u
}

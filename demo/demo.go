// Package demo drives `allot agent --dev`: a few services whose usage
// replays bundled real traces (NAB CloudWatch), one 5-minute trace step per
// epoch. Each step it forecasts the next step per resource, bids through the
// agent's own HTTP API (the same path a client uses), waits for the committed
// plan, and prints what enforcement would do. Nothing here is faked: the
// forecasts, bids, solve and plan are the real ones.
package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/forecast"
	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/go-hclog"
)

//go:embed data/*.csv
var traces embed.FS

// series is one resource of one demo service.
type series struct {
	resource bidding.Resource
	file     string
	scale    float64 // trace unit -> base units
	values   []float64
	model    *forecast.Online
}

type service struct {
	def    bidding.Service
	series []*series
}

// Demo replays the traces against an agent.
type Demo struct {
	c      *api.Client
	node   string
	log    hclog.Logger
	out    io.Writer
	svcs   []*service
	step   int
	warmup int
	rec    *enforce.Reconciler
}

const stepInterval = 5 * time.Minute

// New prepares the demo for the agent behind c, whose client node is node.
func New(c *api.Client, node string, log hclog.Logger, out io.Writer) *Demo {
	mk := func(name string, class bidding.Class, minCPU int64, ss ...*series) *service {
		return &service{def: bidding.Service{Name: name, Class: class, Min: bidding.Vec{minCPU, 0, 0, 0}}, series: ss}
	}
	// CPU traces are % of one core: ×10 gives millicores. Network is bytes
	// per 5 minutes: ×8/300 gives bits/s.
	cpu := func(f string) *series { return &series{resource: bidding.CPU, file: f, scale: 10} }
	rec := enforce.NewReconciler(node, &enforce.DryRun{Out: out}, "", log)
	return &Demo{c: c, node: node, log: log, out: out, warmup: 576, rec: rec, svcs: []*service{
		mk("web", bidding.ClassCritical, 200, cpu("ec2_cpu_utilization_5f5533.csv"), &series{resource: bidding.Net, file: "ec2_network_in_257a54.csv", scale: 8.0 / 300}),
		mk("api", bidding.ClassStandard, 100, cpu("ec2_cpu_utilization_825cc2.csv")),
		mk("search", bidding.ClassStandard, 100, cpu("ec2_cpu_utilization_ac20cd.csv")),
		mk("batch", bidding.ClassBatch, 50, cpu("rds_cpu_utilization_cc0c53.csv")),
	}}
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

// Run registers the services, then loops: observe, forecast, bid, wait for the plan.
func (d *Demo) Run(ctx context.Context) error {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, s := range d.svcs {
		for _, se := range s.series {
			v, err := LoadTrace(se.file)
			if err != nil {
				return err
			}
			se.values = v
			m, err := forecast.NewOnline(forecast.Config{Interval: stepInterval, Horizon: 1, Model: "auto", MaxHistory: 4032})
			if err != nil {
				return fmt.Errorf("forecaster for %s: %w", s.def.Name, err)
			}
			se.model = m
			for i := 0; i < d.warmup && i < len(v); i++ {
				m.Observe(t0.Add(time.Duration(i)*stepInterval), v[i]*se.scale)
			}
		}
	}
	d.step = d.warmup
	if err := d.register(ctx); err != nil {
		return err
	}
	var index uint64
	for ctx.Err() == nil {
		var p bidding.Plan
		_, err := d.c.Do(ctx, "GET", fmt.Sprintf("/v1/plan?index=%d&wait=30s", index), nil, &p)
		var ae *api.Error
		if err != nil && !(errors.As(err, &ae) && ae.Code == 404) {
			if ctx.Err() != nil {
				return nil
			}
			d.log.Warn("waiting for plan", "error", err)
			time.Sleep(time.Second)
			continue
		}
		if p.Index > index {
			index = p.Index
			d.enforce(ctx, p)
		}
		if err := d.bid(ctx, p.Epoch+1, t0); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.log.Warn("bidding failed", "error", err)
			time.Sleep(time.Second)
			continue
		}
		if p.Index == 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}

func (d *Demo) register(ctx context.Context) error {
	for _, s := range d.svcs {
		for {
			_, err := d.c.Do(ctx, "PUT", "/v1/service/"+s.def.Name, s.def, nil)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.log.Debug("waiting to register demo services", "error", err)
			time.Sleep(300 * time.Millisecond)
		}
	}
	return nil
}

// bid observes one more trace step per service, reports it as the actual
// usage of the epoch just committed (epoch-1: the step the previous bid
// forecast), and bids the forecast of the next step for epoch.
func (d *Demo) bid(ctx context.Context, epoch uint64, t0 time.Time) error {
	var bids []bidding.Bid
	rep := fsm.UsageReport{Node: d.node, Epoch: epoch - 1}
	for _, s := range d.svcs {
		actual := map[string]int64{}
		b := bidding.Bid{Service: s.def.Name, Node: d.node, Epoch: epoch, Resources: map[string]bidding.Quantiles{}, ForecastError: map[string]bidding.ForecastError{}}
		for _, se := range s.series {
			i := d.step % len(se.values)
			v := se.values[i] * se.scale
			actual[se.resource.String()] = int64(math.Round(math.Max(v, 0)))
			se.model.Observe(t0.Add(time.Duration(d.step)*stepInterval), v)
			q, err := se.model.Forecast()
			if err != nil || len(q) == 0 {
				return fmt.Errorf("forecasting %s %s: %v", s.def.Name, se.resource, err)
			}
			b.Resources[se.resource.String()] = bidrule.ClientBid(se.resource, s.def.Class, q[0], bidding.DefaultOptions().Deadband)
			b.ForecastError[se.resource.String()] = bidrule.ForecastError(se.model.Metrics())
		}
		bids = append(bids, b)
		rep.Services = append(rep.Services, fsm.ServiceUsage{Service: s.def.Name, Actual: actual})
	}
	d.step++
	if rep.Epoch >= 1 {
		if _, err := d.c.Do(ctx, "PUT", "/v1/usage", rep, nil); err != nil {
			d.log.Warn("reporting usage", "epoch", rep.Epoch, "error", err)
		}
	}
	_, err := d.c.Do(ctx, "PUT", "/v1/bids", bids, nil)
	return err
}

// enforce hands the plan to the enforcement reconciler (a dry run in dev
// mode: it reports and touches no cgroup or qdisc).
func (d *Demo) enforce(ctx context.Context, p bidding.Plan) {
	fmt.Fprintf(d.out, "epoch %d committed (index %d, %s, solve %.2f ms):\n", p.Epoch, p.Index, shortHash(p.Hash), p.Stats.SolveMS)
	if _, err := d.rec.Apply(ctx, p); err != nil {
		d.log.Warn("enforcing plan", "error", err)
	}
}

func shortHash(h string) string {
	if len(h) > 19 {
		return h[:19] + "…"
	}
	return h
}

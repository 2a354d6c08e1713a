package sim

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"github.com/allot-dev/allot/bidding"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// WritePlots writes into dir: per node, the stacked cpu allocation of its
// services against their total usage over time, one panel per policy
// (alloc-NODE.png, at the recorded contention); slack and shortfall
// per policy (slack-shortfall.png) and the slack/shortfall trade-off at
// every contention (tradeoff.png); forecast vs actual with p90/p99 bands for
// a few services (forecast-SERVICE.png).
func WritePlots(res *Result, contention []float64, policies []string, dir string) error {
	return writePlots(res, contention, policies, dir, 1)
}

// writePlots draws at scale times the default sizes.
func writePlots(res *Result, contention []float64, policies []string, dir string, scale float64) error {
	save := func(p *plot.Plot, w, h vg.Length, path string) error {
		return savePNG(p, vg.Length(scale)*w, vg.Length(scale)*h, path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	var recorded []*Run
	for _, run := range res.Runs {
		if run.Alloc != nil {
			recorded = append(recorded, run)
		}
	}
	for n := range res.World.Nodes {
		if err := plotNode(res.World, recorded, n, bidding.CPU, dir, scale); err != nil {
			return err
		}
	}
	if err := plotBars(res, contention, policies, dir, save); err != nil {
		return err
	}
	if err := plotTradeoff(res, contention, policies, dir, save); err != nil {
		return err
	}
	for _, s := range forecastPlotServices(res.World, 4) {
		if err := plotForecast(res, s, dir, save); err != nil {
			return err
		}
	}
	return nil
}

type saver func(p *plot.Plot, w, h vg.Length, path string) error

func savePNG(p *plot.Plot, w, h vg.Length, path string) error {
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	return nil
}

// hours gives the x of evaluated epoch k.
func hours(w *World, k int) float64 { return float64(k) * w.Epoch.Hours() }

func fade(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(x uint32) uint8 { return uint8((x>>8)/2 + 127) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 255}
}

func unitDiv(r bidding.Resource) float64 {
	return [nr]float64{1000, 1 << 30, 1 << 20, 1e6}[r]
}

func unitLabel(r bidding.Resource) string {
	return [nr]string{"cores", "GiB", "MiB/s", "Mbit/s"}[r]
}

func plotBars(res *Result, contention []float64, policies []string, dir string, save saver) error {
	ci := recordedIndex(res, contention)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("slack and shortfall per policy at contention %.1f", contention[ci])
	p.Y.Label.Text = "%"
	var slack, short plotter.Values
	for pi := range policies {
		m := res.Runs[ci*len(policies)+pi].Metrics
		slack = append(slack, 100*m.Slack)
		short = append(short, 100*m.Shortfall)
	}
	w := vg.Points(14)
	b1, err := plotter.NewBarChart(slack, w)
	if err != nil {
		return fmt.Errorf("plot bars: %w", err)
	}
	b1.Color = plotutil.Color(0)
	b1.Offset = -w / 2
	b2, err := plotter.NewBarChart(short, w)
	if err != nil {
		return fmt.Errorf("plot bars: %w", err)
	}
	b2.Color = plotutil.Color(1)
	b2.Offset = w / 2
	p.Add(b1, b2)
	p.Legend.Add("slack Σmax(0,a−u)/Σa", b1)
	p.Legend.Add("shortfall Σmax(0,u−a)/Σu", b2)
	p.Legend.Top = true
	p.NominalX(policies...)
	return save(p, 8*vg.Inch, 4*vg.Inch, filepath.Join(dir, "slack-shortfall.png"))
}

// recordedIndex is the contention index whose runs kept allocations (or 0).
func recordedIndex(res *Result, contention []float64) int {
	for _, r := range res.Runs {
		if r.Alloc != nil {
			for i, c := range contention {
				if c == r.Contention {
					return i
				}
			}
		}
	}
	return 0
}

func plotTradeoff(res *Result, contention []float64, policies []string, dir string, save saver) error {
	p := plot.New()
	p.Title.Text = "slack vs shortfall (lower left is better)"
	p.X.Label.Text = "slack %"
	p.Y.Label.Text = "shortfall %"
	// One marker shape per policy and one colour per contention level,
	// both in the legend: text labels beside the points overlapped where
	// policies land close together.
	for pi, name := range policies {
		var xys plotter.XYs
		for ci := range contention {
			m := res.Runs[ci*len(policies)+pi].Metrics
			xys = append(xys, plotter.XY{X: 100 * m.Slack, Y: 100 * m.Shortfall})
		}
		if len(contention) > 1 {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("plot tradeoff: %w", err)
			}
			l.Color = color.Gray{Y: 180}
			l.Width = vg.Points(0.5)
			p.Add(l)
		}
		for ci, xy := range xys {
			sc, err := plotter.NewScatter(plotter.XYs{xy})
			if err != nil {
				return fmt.Errorf("plot tradeoff: %w", err)
			}
			sc.Color = plotutil.Color(ci)
			sc.Shape = plotutil.Shape(pi)
			sc.Radius = vg.Points(4)
			p.Add(sc)
		}
		key, _ := plotter.NewScatter(plotter.XYs{{}})
		key.Color, key.Shape, key.Radius = color.Black, plotutil.Shape(pi), vg.Points(4)
		p.Legend.Add(name, key)
	}
	for ci, c := range contention {
		key, _ := plotter.NewScatter(plotter.XYs{{}})
		key.Color, key.Shape, key.Radius = plotutil.Color(ci), draw.CircleGlyph{}, vg.Points(4)
		p.Legend.Add(fmt.Sprintf("contention %.1f", c), key)
	}
	p.Legend.Top = true
	return save(p, 8*vg.Inch, 6*vg.Inch, filepath.Join(dir, "tradeoff.png"))
}

// forecastPlotServices picks up to n services, critical first, by name.
func forecastPlotServices(w *World, n int) []int {
	idx := make([]int, len(w.Svcs))
	for i := range idx {
		idx[i] = i
	}
	rank := map[bidding.Class]int{bidding.ClassCritical: 0, bidding.ClassStandard: 1, bidding.ClassBatch: 2}
	sort.SliceStable(idx, func(a, b int) bool { return rank[w.Svcs[idx[a]].Def.Class] < rank[w.Svcs[idx[b]].Def.Class] })
	return idx[:min(n, len(idx))]
}

// plotForecast draws the first resource of service s over the first two
// evaluated days: actual usage, forecast p50 and the p90 and p99 bands.
func plotForecast(res *Result, s int, dir string, save saver) error {
	w, f := res.World, res.Forecasts
	sv := w.Svcs[s]
	r := firstResource(sv)
	steps := min(w.Steps, int(48*60/w.Epoch.Minutes()))
	div := unitDiv(bidding.Resource(r))
	var act, p50, p90, p99 plotter.XYs
	for k := range steps {
		x := hours(w, k)
		q := toQuantiles(f.Q[s][r][k])
		act = append(act, plotter.XY{X: x, Y: sv.Demand[r][w.Warmup+k] / div})
		p50 = append(p50, plotter.XY{X: x, Y: float64(q.P50) / div})
		p90 = append(p90, plotter.XY{X: x, Y: float64(q.P90) / div})
		p99 = append(p99, plotter.XY{X: x, Y: float64(q.P99) / div})
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (%s) %s: forecast vs actual, %s", sv.Def.Name, sv.Def.Class, bidding.Resource(r), sv.Label[r])
	p.X.Label.Text = "hours"
	p.Y.Label.Text = unitLabel(bidding.Resource(r))
	p.Y.Min = 0
	band := func(hi plotter.XYs, c color.Color, label string) error {
		l, err := plotter.NewLine(hi)
		if err != nil {
			return err
		}
		l.FillColor = c
		l.Color = c
		p.Add(l)
		p.Legend.Add(label, l)
		return nil
	}
	if err := band(p99, color.RGBA{R: 200, G: 220, B: 255, A: 255}, "p99"); err != nil {
		return fmt.Errorf("plot forecast: %w", err)
	}
	if err := band(p90, color.RGBA{R: 150, G: 190, B: 250, A: 255}, "p90"); err != nil {
		return fmt.Errorf("plot forecast: %w", err)
	}
	for _, l := range []struct {
		xy    plotter.XYs
		c     color.Color
		label string
	}{{p50, color.RGBA{B: 200, A: 255}, "p50"}, {act, color.Black, "actual"}} {
		ln, err := plotter.NewLine(l.xy)
		if err != nil {
			return fmt.Errorf("plot forecast: %w", err)
		}
		ln.Color = l.c
		p.Add(ln)
		p.Legend.Add(l.label, ln)
	}
	p.Legend.Top = true
	return save(p, 12*vg.Inch, 4*vg.Inch, filepath.Join(dir, fmt.Sprintf("forecast-%s.png", sv.Def.Name)))
}

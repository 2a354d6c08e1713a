package sim

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"github.com/allot-dev/allot/bidding"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotNode draws node n's stacked allocation of resource r against its
// services' total usage, one panel per recorded run (policy) side by side
// in one figure, on a shared y axis (alloc-NODE.png).
func plotNode(w *World, runs []*Run, n int, r bidding.Resource, dir string, scale float64) error {
	var svcs []int
	for s, sv := range w.Svcs {
		if sv.Node == n && sv.Has[r] {
			svcs = append(svcs, s)
		}
	}
	if len(svcs) == 0 || len(runs) == 0 {
		return nil
	}
	panels := make([][]*plot.Plot, len(runs))
	top := 0.0
	for i, run := range runs {
		p, hi, err := nodePanel(w, run, svcs, r, i == 0)
		if err != nil {
			return err
		}
		panels[i] = []*plot.Plot{p}
		top = math.Max(top, hi)
	}
	for _, row := range panels {
		row[0].Y.Min, row[0].Y.Max = 0, top*1.05
	}
	width, height := vg.Length(scale)*14*vg.Inch, vg.Length(scale)*vg.Length(2.6*float64(len(runs)))*vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	canvases := plot.Align(panels, draw.Tiles{Rows: len(runs), Cols: 1, PadY: vg.Millimeter * 3, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}, dc)
	for i := range panels {
		panels[i][0].Draw(canvases[i][0])
	}
	path := filepath.Join(dir, fmt.Sprintf("alloc-%s.png", w.Nodes[n]))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	return nil
}

// nodePanel is one policy's panel; it returns the highest value drawn.
func nodePanel(w *World, run *Run, svcs []int, r bidding.Resource, legend bool) (*plot.Plot, float64, error) {
	p := plot.New()
	m := run.Metrics
	p.Title.Text = fmt.Sprintf("%s (%s, contention %.1f): slack %.1f%%, shortfall %.2f%% over the cluster", run.Policy, r, run.Contention, 100*m.Slack, 100*m.Shortfall)
	p.X.Label.Text = "hours"
	p.Y.Label.Text = unitLabel(r)
	div := unitDiv(r)
	cum := make([]float64, w.Steps)
	use := make([]float64, w.Steps)
	tops := make([]plotter.XYs, len(svcs))
	hi := 0.0
	for i, s := range svcs {
		xy := make(plotter.XYs, w.Steps)
		for k := range w.Steps {
			cum[k] += run.Alloc[s][r][k] / div
			use[k] += w.Svcs[s].Demand[r][w.Warmup+k] / div
			xy[k] = plotter.XY{X: hours(w, k), Y: cum[k]}
			hi = math.Max(hi, math.Max(cum[k], use[k]))
		}
		tops[i] = xy
	}
	for i := len(svcs) - 1; i >= 0; i-- {
		l, err := plotter.NewLine(tops[i])
		if err != nil {
			return nil, 0, fmt.Errorf("plot node: %w", err)
		}
		c := plotutil.Color(i)
		l.FillColor = fade(c)
		l.Color = c
		l.Width = vg.Points(0.3)
		p.Add(l)
		if legend {
			p.Legend.Add(w.Svcs[svcs[i]].Def.Name+" ("+string(w.Svcs[svcs[i]].Def.Class)+")", l)
		}
	}
	uxy := make(plotter.XYs, w.Steps)
	for k := range w.Steps {
		uxy[k] = plotter.XY{X: hours(w, k), Y: use[k]}
	}
	ul, err := plotter.NewLine(uxy)
	if err != nil {
		return nil, 0, fmt.Errorf("plot node: %w", err)
	}
	ul.Color = color.Black
	ul.Width = vg.Points(0.8)
	p.Add(ul)
	if legend {
		p.Legend.Add("usage (total)", ul)
		p.Legend.Top = true
		p.Legend.Left = true
	}
	return p, hi, nil
}

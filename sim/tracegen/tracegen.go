// Package tracegen writes folders of synthetic per-VM usage traces with known
// properties (idle, intermittent, bursty, trending, level shifts), one CSV
// file per VM with the columns timestamp, cpu, memory, disk_read_kbs and
// net_in_kbs at 5-minute steps. Output is a pure function of the kind, the
// file count, the length and the seed, so that a trace family can be
// regenerated anywhere for a leave-one-family-out evaluation.
package tracegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kinds lists the families Generate knows, in a stable order.
func Kinds() []string { return []string{"idle", "intermittent", "bursty", "trending", "levelshift"} }

// Step is the interval between samples.
const Step = 5 * time.Minute

// Options of one family.
type Options struct {
	Kind  string
	Files int     // VMs (files); default 8
	Days  float64 // length; default 14
	Seed  uint64
}

// Columns are the CSV header, timestamp first.
var Columns = []string{"timestamp", "cpu", "memory", "disk_read_kbs", "net_in_kbs"}

// Generate writes o.Files CSV files into dir (created if missing) and
// returns their paths.
func Generate(dir string, o Options) ([]string, error) {
	if o.Files <= 0 {
		o.Files = 8
	}
	if o.Days <= 0 {
		o.Days = 14
	}
	gen, ok := kinds[o.Kind]
	if !ok {
		return nil, fmt.Errorf("trace kind %q: known: %s", o.Kind, strings.Join(Kinds(), ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	n := int(o.Days * float64(24*time.Hour) / float64(Step))
	var paths []string
	for f := range o.Files {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(f)<<8|kindIndex(o.Kind)))
		cols := gen(rng, n)
		p := filepath.Join(dir, fmt.Sprintf("%s_vm%02d.csv", o.Kind, f+1))
		if err := writeCSV(p, cols); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func kindIndex(k string) uint64 {
	for i, x := range Kinds() {
		if x == k {
			return uint64(i + 1)
		}
	}
	return 0
}

func writeCSV(path string, cols [4][]float64) error {
	var b strings.Builder
	b.WriteString(strings.Join(Columns, ","))
	b.WriteByte('\n')
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := range cols[0] {
		b.WriteString(t0.Add(time.Duration(i) * Step).Format("2006-01-02 15:04:05"))
		for c := range cols {
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(cols[c][i], 'f', -1, 64))
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// perDay is the number of steps in a day.
const perDay = int(24 * time.Hour / Step)

type genFunc func(rng *rand.Rand, n int) [4][]float64

var kinds = map[string]genFunc{
	"idle":         idle,
	"intermittent": intermittent,
	"bursty":       bursty,
	"trending":     trending,
	"levelshift":   levelShift,
}

// round3 keeps files small and values exact in text.
func round3(x float64) float64 { return math.Round(math.Max(0, x)*1000) / 1000 }

// daily is a smooth daily profile in [0, 1] peaking mid-afternoon.
func daily(i int, phase float64) float64 {
	t := 2 * math.Pi * (float64(i%perDay)/float64(perDay) - phase)
	return 0.5 + 0.4*math.Sin(t) + 0.1*math.Sin(2*t)
}

// idle: a VM that does nothing: cpu near a small constant, memory a slow
// saw-tooth,
// no disk at all, a network blip on 1% of the steps.
func idle(rng *rand.Rand, n int) [4][]float64 {
	var c [4][]float64
	for i := range c {
		c[i] = make([]float64, n)
	}
	base := 0.2 + rng.Float64()
	mem := 200 + 800*rng.Float64()
	for i := range n {
		c[0][i] = round3(base + 0.05*rng.NormFloat64())
		// a slow saw-tooth: the heap grows for six hours, then is collected
		c[1][i] = round3(mem * (0.8 + 0.2*float64(i%72)/72))
		if rng.Float64() < 0.01 {
			c[3][i] = round3(1 + 5*rng.Float64())
		}
	}
	return c
}

// burstSeries is zero except for bursts: a burst starts with probability p
// per step, lasts a geometric number of steps of the given mean, and has a
// log-normal size.
func burstSeries(rng *rand.Rand, n int, p, meanLen, scale, sigma float64) []float64 {
	v := make([]float64, n)
	for i := 0; i < n; i++ {
		if rng.Float64() >= p {
			continue
		}
		size := scale * math.Exp(sigma*rng.NormFloat64())
		for ; i < n; i++ {
			v[i] = round3(size * (0.8 + 0.4*rng.Float64()))
			if rng.Float64() < 1/meanLen {
				break
			}
		}
	}
	return v
}

// intermittent: batch-like VMs, mostly zero with bursts (cron jobs, queue
// workers); memory steady with a step up during cpu bursts.
func intermittent(rng *rand.Rand, n int) [4][]float64 {
	var c [4][]float64
	p := 0.01 + 0.03*rng.Float64()
	c[0] = burstSeries(rng, n, p, 2+6*rng.Float64(), 20+60*rng.Float64(), 0.5)
	c[2] = burstSeries(rng, n, p/2, 3, 500, 1)
	c[3] = burstSeries(rng, n, p, 2, 100, 0.8)
	c[1] = make([]float64, n)
	mem := 500 + 500*rng.Float64()
	for i := range n {
		c[1][i] = round3(mem)
		if c[0][i] > 0 {
			c[1][i] = round3(mem * 1.3)
		}
	}
	return c
}

// pareto draws a heavy-tailed multiplier ≥ 1 with tail index alpha.
func pareto(rng *rand.Rand, alpha float64) float64 {
	return math.Pow(1-rng.Float64(), -1/alpha)
}

// bursty: a daily pattern with heavy-tailed spikes on cpu and network and a
// mostly-zero disk with rare large reads.
func bursty(rng *rand.Rand, n int) [4][]float64 {
	var c [4][]float64
	for i := range c {
		c[i] = make([]float64, n)
	}
	level := 10 + 30*rng.Float64()
	phase := rng.Float64()
	mem := 1000 + 1000*rng.Float64()
	for i := range n {
		d := daily(i, phase)
		c[0][i] = level * d * (1 + 0.1*rng.NormFloat64())
		c[3][i] = 50 * d * (1 + 0.2*rng.NormFloat64())
		if rng.Float64() < 0.04 {
			c[0][i] *= pareto(rng, 1.5)
		}
		if rng.Float64() < 0.04 {
			c[3][i] *= pareto(rng, 1.2)
		}
		if rng.Float64() < 0.02 {
			c[2][i] = 1000 * pareto(rng, 1.3)
		}
		c[1][i] = mem * (0.7 + 0.3*d) * (1 + 0.03*rng.NormFloat64())
		c[0][i], c[1][i], c[2][i], c[3][i] = round3(c[0][i]), round3(c[1][i]), round3(c[2][i]), round3(c[3][i])
	}
	return c
}

// trending: daily and weekly seasonality on a level growing (or shrinking)
// linearly by up to 50% over the series, with noise.
func trending(rng *rand.Rand, n int) [4][]float64 {
	var c [4][]float64
	slope := (rng.Float64() - 0.3) * 0.5 / float64(n)
	phase := rng.Float64()
	for r := range c {
		c[r] = make([]float64, n)
		level := 10 + 90*rng.Float64()
		amp := 0.3 + 0.5*rng.Float64()
		if r == 1 {
			amp = 0.25
		}
		for i := range n {
			week := 1.0
			if (i/perDay)%7 >= 5 {
				week = 0.7
			}
			s := 1 - amp + 2*amp*daily(i, phase)
			c[r][i] = round3(level * (1 + slope*float64(i)) * s * week * (1 + 0.05*rng.NormFloat64()))
		}
	}
	return c
}

// levelShift: a daily pattern whose level jumps by a factor 0.3–3 every
// two to five days (deploys, traffic moved between VMs).
func levelShift(rng *rand.Rand, n int) [4][]float64 {
	var c [4][]float64
	for i := range c {
		c[i] = make([]float64, n)
	}
	phase := rng.Float64()
	var lv [4]float64
	for r := range lv {
		lv[r] = 10 + 90*rng.Float64()
	}
	next := perDay * (2 + rng.IntN(4))
	for i := range n {
		if i == next {
			f := 0.3 + 2.7*rng.Float64()
			for r := range lv {
				if r != 1 || rng.Float64() < 0.5 {
					lv[r] *= f
				}
			}
			next += perDay * (2 + rng.IntN(4))
		}
		d := daily(i, phase)
		for r := range lv {
			amp := 0.5
			if r == 1 {
				amp = 0.25
			}
			c[r][i] = round3(lv[r] * (1 - amp + 2*amp*d) * (1 + 0.05*rng.NormFloat64()))
		}
	}
	return c
}

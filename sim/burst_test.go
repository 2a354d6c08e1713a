package sim

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// burstRecord is one Allot replay with its allocation and bid top per
// service, resource and evaluated epoch.
type burstRecord struct {
	w     *World
	alloc [][][nr]int64
	tops  [][][nr]bidTop
	got   [][][nr]float64
}

// recordAllot replays policy (allot or one of its variants, the oracle
// included) on w at contention c, keeping what it allocated, asked for and
// served at every epoch.
func recordAllot(t *testing.T, w *World, f *Forecasts, c float64, name string) *burstRecord {
	t.Helper()
	rec := &burstRecord{w: w}
	_, err := replayWatched(w, f, name, c, ObserveDemand, false, nil, func(k int, p policy, alloc [][nr]int64, got [][nr]float64) {
		rec.alloc = append(rec.alloc, alloc)
		rec.tops = append(rec.tops, slices.Clone(p.(*allotPolicy).lastBids()))
		rec.got = append(rec.got, slices.Clone(got))
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// burstSplit is Allot's shortfall above the top of its bid, split by the
// epoch's position within a burst: a run of epochs whose demand is above
// twice the series' median or above the bid. Figures are shares of the
// whole run's demand (each series in units of its p95, as the headline).
type burstSplit struct {
	above   [4]float64 // positions 1, 2, 3, 4+
	short   [4]float64 // all shortfall at that position
	epochs  [4]int
	byKey   map[string]*[4]float64 // "class/resource" → above-bid by position
	lengths map[int]int            // burst length → count (runs of demand > 2 × median)
	demand  float64
	// epochs 3+ with demand above the bid: mean of top/demand, and how many
	// were pressed Lag epochs before (a surge floored the bid)
	late, latePressed, lateZero int
	lateRatio                   float64
	lateAbove                   [3]float64 // above-bid demand of those: allocation 0, pressed, neither, Lag epochs before
}

func splitBursts(rec *burstRecord) *burstSplit {
	w := rec.w
	b := &burstSplit{byKey: map[string]*[4]float64{}, lengths: map[int]int{}}
	for s, sv := range w.Svcs {
		for r := range nr {
			if !sv.Has[r] {
				continue
			}
			inv := 0.0
			if w.norm[s][r] > 0 {
				inv = 1 / w.norm[s][r]
			}
			d := sv.Demand[r][w.Warmup : w.Warmup+w.Steps]
			sorted := slices.Sorted(slices.Values(d))
			med := sorted[len(sorted)/2]
			run, hot := 0, 0
			for k, u := range d {
				top := math.Max(rec.tops[k][s][r].top, rec.tops[k][s][r].p90)
				x := float64(rec.alloc[k][s][r])
				b.demand += u * inv
				if u > 2*med {
					hot++
				} else if hot > 0 {
					b.lengths[hot]++
					hot = 0
				}
				if u > 2*med || u > top {
					run++
				} else {
					run = 0
					continue
				}
				pos := min(run, 4) - 1
				above := math.Max(0, u-math.Max(top, x)) * inv
				b.above[pos] += above
				b.short[pos] += math.Max(0, u-rec.got[k][s][r]) * inv
				b.epochs[pos]++
				key := fmt.Sprintf("%s/%s", sv.Def.Class, bidding.Resource(r))
				if b.byKey[key] == nil {
					b.byKey[key] = &[4]float64{}
				}
				b.byKey[key][pos] += above
				if run >= 3 && above > 0 {
					b.late++
					b.lateRatio += top / u
					j := k - Lag
					switch aj := float64(rec.alloc[j][s][r]); {
					case aj == 0:
						b.lateZero++
						b.lateAbove[0] += above
					case r != int(bidding.Memory) && read(r, d[j], aj).Pressed:
						b.latePressed++
						b.lateAbove[1] += above
					default:
						b.lateAbove[2] += above
					}
				}
			}
			if hot > 0 {
				b.lengths[hot]++
			}
		}
	}
	return b
}

func (b *burstSplit) write(wr io.Writer) {
	pct := func(v float64) string { return fmt.Sprintf("%6.2f", 100*v/b.demand) }
	fmt.Fprintf(wr, "position        1      2      3     4+   (%% of demand)\n")
	fmt.Fprintf(wr, "above bid   %s %s %s %s\n", pct(b.above[0]), pct(b.above[1]), pct(b.above[2]), pct(b.above[3]))
	fmt.Fprintf(wr, "shortfall   %s %s %s %s\n", pct(b.short[0]), pct(b.short[1]), pct(b.short[2]), pct(b.short[3]))
	fmt.Fprintf(wr, "epochs      %6d %6d %6d %6d\n", b.epochs[0], b.epochs[1], b.epochs[2], b.epochs[3])
	keys := make([]string, 0, len(b.byKey))
	for k := range b.byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := b.byKey[k]
		fmt.Fprintf(wr, "%-18s %s %s %s %s\n", k, pct(v[0]), pct(v[1]), pct(v[2]), pct(v[3]))
	}
	var n, sum int
	for l, c := range b.lengths {
		n += c
		sum += l * c
	}
	var hist []string
	for _, l := range []int{1, 2, 3, 4, 5, 6, 8, 12} {
		c := 0
		for m, v := range b.lengths {
			if m >= l {
				c += v
			}
		}
		hist = append(hist, fmt.Sprintf("≥%d: %.2f", l, float64(c)/float64(max(n, 1))))
	}
	fmt.Fprintf(wr, "bursts (> 2 × median): %d, mean length %.2f epochs; %s\n", n, float64(sum)/float64(max(n, 1)), strings.Join(hist, ", "))
	fmt.Fprintf(wr, "epochs 3+ above the bid: %d, mean top/demand %.2f; Lag epochs before: allocation 0 in %d (%s), pressed in %d (%s), neither in %d (%s)\n",
		b.late, b.lateRatio/float64(max(b.late, 1)), b.lateZero, pct(b.lateAbove[0]), b.latePressed, pct(b.lateAbove[1]), b.late-b.lateZero-b.latePressed, pct(b.lateAbove[2]))
}

// TestBurstSplit is a diagnostic, run by hand:
// ALLOT_BURST_TRACE=DIR [ALLOT_BURST_SEED=S] [ALLOT_BURST_POLICY=oracle] go test -run TestBurstSplit -v ./sim
func TestBurstSplit(t *testing.T) {
	dir := os.Getenv("ALLOT_BURST_TRACE")
	if dir == "" {
		t.Skip("set ALLOT_BURST_TRACE to a trace directory")
	}
	seed := os.Getenv("ALLOT_BURST_SEED")
	if seed == "" {
		seed = "1"
	}
	o, err := ParseArgs([]string{"--trace", dir, "--seed", seed, "--progress=false"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := loadScenario(o)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := RunForecasts(w, o.Workers, nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := os.Getenv("ALLOT_BURST_POLICY")
	if policy == "" {
		policy = PolicyAllot
	}
	var sb strings.Builder
	splitBursts(recordAllot(t, w, f, 1, policy)).write(&sb)
	t.Log("\n" + sb.String())
}

func TestSplitBurstsPositions(t *testing.T) {
	cases := []struct {
		name      string
		demand    []float64
		top       []int64 // bid top per epoch; the allocation is the top
		wantAbove [4]float64
		wantLens  map[int]int
	}{
		{"one burst of four, bid zero", []float64{0, 0, 4, 4, 4, 4, 0, 0, 0, 0}, []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, [4]float64{4, 4, 4, 4}, map[int]int{4: 1}},
		{"bid follows from the third epoch", []float64{0, 0, 4, 4, 4, 4, 0, 0, 0, 0}, []int64{0, 0, 0, 0, 4, 4, 4, 4, 0, 0}, [4]float64{4, 4, 0, 0}, map[int]int{4: 1}},
		{"two bursts, fourth and later epochs pooled", []float64{0, 2, 0, 0, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0}, []int64{0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, [4]float64{3, 1, 1, 2}, map[int]int{1: 1, 5: 1}},
		{"above the bid outside a burst starts a run", []float64{2, 2, 2, 2, 2}, []int64{2, 2, 1, 1, 2}, [4]float64{1, 1, 0, 0}, map[int]int{}},
	}
	for _, c := range cases {
		n := len(c.demand)
		w := &World{Steps: n, Svcs: []Svc{{Def: bidding.Service{Name: "s", Class: bidding.ClassStandard}}}, norm: [][nr]float64{{}}}
		w.Svcs[0].Has[bidding.CPU] = true
		w.Svcs[0].Demand[bidding.CPU] = c.demand
		w.norm[0][bidding.CPU] = 1
		rec := &burstRecord{w: w}
		for k := range n {
			var a [nr]int64
			var tp [nr]bidTop
			var g [nr]float64
			a[bidding.CPU] = c.top[k]
			tp[bidding.CPU] = bidTop{top: float64(c.top[k])}
			g[bidding.CPU] = math.Min(c.demand[k], float64(c.top[k]))
			rec.alloc = append(rec.alloc, [][nr]int64{a})
			rec.tops = append(rec.tops, [][nr]bidTop{tp})
			rec.got = append(rec.got, [][nr]float64{g})
		}
		b := splitBursts(rec)
		if b.above != c.wantAbove {
			t.Errorf("%s: above the bid by position %v, want %v", c.name, b.above, c.wantAbove)
		}
		if len(b.lengths) != len(c.wantLens) {
			t.Errorf("%s: burst lengths %v, want %v", c.name, b.lengths, c.wantLens)
		}
		for l, m := range c.wantLens {
			if b.lengths[l] != m {
				t.Errorf("%s: burst lengths %v, want %v", c.name, b.lengths, c.wantLens)
			}
		}
	}
}

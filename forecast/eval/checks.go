package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Check summarises one model on a group of series against the acceptance
// points of a family: how many series it forecasts no worse than the plain
// seasonal naive (MASE), and how many have a p90 coverage in [0.85, 0.95]:
// one-sided counting ties as covered (actual ≤ p90, the original column),
// strict (actual < p90), and ties-aware (calibrated90: the interval
// [strict, one-sided] meets the band — the quantile definition for a
// distribution with atoms, e.g. a mostly-zero series whose p90 is zero).
type Check struct {
	Model             string  `json:"model"`
	Group             string  `json:"group"` // "all", or a resource: cpu, memory, io, net, other
	Series            int     `json:"series"`
	MedianMASE        float64 `json:"median_mase"`
	PlainSNaiveMedian float64 `json:"snaive_plain_median_mase"`
	NoWorseThanSNaive int     `json:"mase_le_snaive_plain"`
	Cov90InBand       int     `json:"cov90_in_band"`        // actual ≤ p90 in band
	Cov90StrictInBand int     `json:"cov90_strict_in_band"` // actual < p90 in band
	Cov90Calibrated   int     `json:"p90_calibrated"`       // ties-aware
	WorstRatio        float64 `json:"worst_mase_ratio"`     // max over series of MASE / plain seasonal naive's
	WorstSeries       string  `json:"worst_series,omitempty"`
}

// groupOf names the resource a series measures from its file and column
// names (the words sim uses: cpu, mem, disk/io, net), else "other".
func groupOf(name string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(c rune) bool { return c < 'a' || c > 'z' })
	for _, p := range []struct{ prefix, group string }{{"cpu", "cpu"}, {"mem", "memory"}, {"disk", "io"}, {"io", "io"}, {"net", "net"}} {
		for _, w := range words {
			if strings.HasPrefix(w, p.prefix) && (p.prefix != "io" || w == "io" || strings.HasPrefix(w, "iops")) {
				return p.group
			}
		}
	}
	return "other"
}

func isBaseline(m string) bool { return m == "naive2" || m == "snaive" || m == plainSNaive }

// checks compares every non-baseline model with the plain seasonal naive,
// over all series and per resource group.
func checks(rows []seriesRow, models []string) []Check {
	plain := -1
	for j, m := range models {
		if m == plainSNaive {
			plain = j
		}
	}
	if plain < 0 {
		return nil
	}
	groups := map[string][]seriesRow{"all": rows}
	for _, r := range rows {
		g := groupOf(r.name)
		groups[g] = append(groups[g], r)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] == "all" || names[j] != "all" && names[i] < names[j] })
	var out []Check
	for j, m := range models {
		if isBaseline(m) {
			continue
		}
		for _, g := range names {
			c := Check{Model: m, Group: g}
			var mase, base []float64
			for _, r := range groups[g] {
				s, b := r.cells[j], r.cells[plain]
				if s.err != nil || b.err != nil || s.n == 0 {
					continue
				}
				c.Series++
				mase, base = append(mase, s.mase), append(base, b.mase)
				if s.mase <= b.mase*(1+1e-9) {
					c.NoWorseThanSNaive++
				}
				c90, s90, u90, _ := s.coverages()
				if inBand(c90) {
					c.Cov90InBand++
				}
				if inBand(s90) {
					c.Cov90StrictInBand++
				}
				if calibrated90(s90, u90) {
					c.Cov90Calibrated++
				}
				if b.mase > 0 && s.mase/b.mase > c.WorstRatio {
					c.WorstRatio, c.WorstSeries = round(s.mase/b.mase, 3), r.name
				}
			}
			if c.Series == 0 {
				continue
			}
			c.MedianMASE, c.PlainSNaiveMedian = round(median(mase), 4), round(median(base), 4)
			out = append(out, c)
		}
	}
	return out
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	y := append([]float64(nil), x...)
	sort.Float64s(y)
	if n := len(y); n%2 == 1 {
		return y[n/2]
	} else {
		return (y[n/2-1] + y[n/2]) / 2
	}
}

// writeChecks prints the checks as a table.
func writeChecks(w io.Writer, cs []Check) error {
	if len(cs) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nagainst the plain seasonal naive (per resource group):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tgroup\tseries\tmedian MASE\tsnaive-plain\tMASE ≤ snaive-plain\tcov90 ≤p90 in band\t<p90 in band\tp90 calibrated (ties)\tworst ratio\tworst series\t")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.3f\t%d / %d\t%d / %d\t%d / %d\t%d / %d\t%.2f\t%s\t\n", c.Model, c.Group, c.Series, c.MedianMASE, c.PlainSNaiveMedian, c.NoWorseThanSNaive, c.Series, c.Cov90InBand, c.Series, c.Cov90StrictInBand, c.Series, c.Cov90Calibrated, c.Series, c.WorstRatio, c.WorstSeries)
	}
	return tw.Flush()
}

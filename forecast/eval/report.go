package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Row is one model's scores.
type Row struct {
	Name       string   `json:"name"`
	SMAPE      float64  `json:"smape"`
	MASE       float64  `json:"mase"`
	OWA        *float64 `json:"owa,omitempty"`
	Coverage90 float64  `json:"coverage90"` // actuals ≤ p90
	// Coverage90Strict counts actuals < p90 (ties not covered).
	Coverage90Strict float64 `json:"coverage90_strict"`
	Coverage99       float64 `json:"coverage99"`
	Seconds          float64 `json:"seconds"`
	// Failed counts series the model could not forecast (left out of its
	// averages).
	Failed int `json:"failed,omitempty"`
}

// Report is the JSON document printed with --json.
type Report struct {
	Dataset string `json:"dataset"`
	Series  int    `json:"series"`
	Horizon int    `json:"horizon"`
	Models  []Row  `json:"models"`
	Best    string `json:"best"`
	// Official holds the published M4 rows for comparison (m4-hourly only).
	Official []OfficialRow `json:"official,omitempty"`
	// Checks compare each model with the plain seasonal naive (csv mode).
	Checks    []Check     `json:"checks,omitempty"`
	PerSeries []SeriesOut `json:"per_series,omitempty"`
	perSeries []seriesRow
}

// OfficialRow is a published M4 Hourly result.
type OfficialRow struct {
	Name  string  `json:"name"`
	SMAPE float64 `json:"smape"`
	MASE  float64 `json:"mase"`
	OWA   float64 `json:"owa"`
}

// m4Official are the published M4 Hourly rows (Evaluation and Ranks.xlsx).
var m4Official = []OfficialRow{
	{"official Naive2", 18.383, 2.395, 1.000},
	{"official sNaive", 13.912, 1.193, 0.627},
	{"official best (#238 Doornik)", 8.913, 0.801, 0.410},
	{"official winner (#118 Smyl)", 9.328, 0.893, 0.440},
}

func round(v float64, d int) float64 {
	if !isFinite(v) {
		return 0
	}
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// pickBest names the non-benchmark row with the lowest OWA (or MASE when
// OWA is absent); with only the benchmark rows, the better of them.
func (r *Report) pickBest() {
	best := math.Inf(1)
	onlyBenchmarks := len(r.Models) <= 2
	for _, m := range r.Models {
		if !onlyBenchmarks && (m.Name == "naive2" || m.Name == "snaive") {
			continue
		}
		s := m.MASE
		if m.OWA != nil {
			s = *m.OWA
		}
		if s < best {
			best, r.Best = s, m.Name
		}
	}
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "dataset %s: %d series, horizon %d\n", r.Dataset, r.Series, r.Horizon)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tsMAPE\tMASE\tOWA\tcov90\tcov90 strict\tcov99\tseconds\t")
	for _, m := range r.Models {
		owa := "-"
		if m.OWA != nil {
			owa = fmt.Sprintf("%.3f", *m.OWA)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%s\t%.3f\t%.3f\t%.3f\t%.1f\t\n", m.Name, m.SMAPE, m.MASE, owa, m.Coverage90, m.Coverage90Strict, m.Coverage99, m.Seconds)
	}
	for _, o := range r.Official {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t-\t-\t-\t-\t\n", o.Name, o.SMAPE, o.MASE, o.OWA)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.perSeries) > 1 {
		fmt.Fprintln(w, "\nper series: MASE (strict cov90 < p90 / cov90 ≤ p90 / cov99; * = p90 calibrated, ties-aware)")
		fmt.Fprint(tw, "series\t")
		for _, m := range r.Models {
			fmt.Fprintf(tw, "%s\t", m.Name)
		}
		fmt.Fprintln(tw)
		for _, s := range r.perSeries {
			fmt.Fprintf(tw, "%s\t", s.name)
			for _, c := range s.cells {
				if c.err != nil {
					fmt.Fprint(tw, "error\t")
					continue
				}
				if c.n == 0 {
					fmt.Fprintf(tw, "%.3f\t", c.mase)
					continue
				}
				c90, s90, u90, _ := c.coverages()
				mark := ""
				if calibrated90(s90, u90) {
					mark = "*"
				}
				fmt.Fprintf(tw, "%.3f (%.2f/%.2f/%.2f)%s\t", c.mase, s90, c90, float64(c.below99)/float64(c.n), mark)
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeChecks(w, r.Checks); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "best: %s\n", r.Best)
	return err
}

// seriesRow is one series' MASE and coverage per model (csv mode, text
// output only).
type seriesRow struct {
	name  string
	cells []seriesScore
}

// SeriesOut is one series' scores per model in the JSON report.
type SeriesOut struct {
	Name   string           `json:"name"`
	Group  string           `json:"group"`
	Models []SeriesModelOut `json:"models"`
}

// SeriesModelOut is one model's scores on one series.
type SeriesModelOut struct {
	Model      string   `json:"model"`
	MASE       float64  `json:"mase"`
	Coverage90 *float64 `json:"coverage90,omitempty"` // actuals ≤ p90
	// Coverage90Strict counts actuals < p90 and Coverage90Ties actuals ≤
	// p90, both up to floating-point rounding (relative 1e-9: a tie);
	// Calibrated90 is the ties-aware check: [strict, ties] meets
	// [0.85, 0.95].
	Coverage90Strict *float64 `json:"coverage90_strict,omitempty"`
	Coverage90Ties   *float64 `json:"coverage90_ties,omitempty"`
	Calibrated90     *bool    `json:"p90_calibrated,omitempty"`
	Coverage99       *float64 `json:"coverage99,omitempty"`
	Error            string   `json:"error,omitempty"`
}

func perSeriesRows(series []csvSeries, models []string, results [][]seriesScore) []seriesRow {
	out := make([]seriesRow, len(series))
	for i, s := range series {
		out[i] = seriesRow{name: s.name, cells: results[i]}
	}
	return out
}

func perSeriesOut(rows []seriesRow, models []string) []SeriesOut {
	out := make([]SeriesOut, len(rows))
	for i, r := range rows {
		so := SeriesOut{Name: r.name, Group: groupOf(r.name)}
		for j, c := range r.cells {
			m := SeriesModelOut{Model: models[j], MASE: round(c.mase, 4)}
			if c.err != nil {
				m.Error = c.err.Error()
			} else if c90, s90, u90, ok := c.coverages(); ok {
				cal := calibrated90(s90, u90)
				c90, s90, u90 = round(c90, 4), round(s90, 4), round(u90, 4)
				c99 := round(float64(c.below99)/float64(c.n), 4)
				m.Coverage90, m.Coverage90Strict, m.Coverage90Ties, m.Calibrated90, m.Coverage99 = &c90, &s90, &u90, &cal, &c99
			}
			so.Models = append(so.Models, m)
		}
		out[i] = so
	}
	return out
}

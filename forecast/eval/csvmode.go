package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/forecast"
)

// csvModels are scored in csv mode when --model is not given.
var csvModels = []string{"naive", "ets", "mstl", "prophet", "auto"}

// csvSeries is one regularised series from a CSV file.
type csvSeries struct {
	name string
	y    []float64
}

// maxGrid bounds a regularised CSV series.
const maxGrid = 2_000_000

// loadCSVSeries reads --data: one CSV file, or every *.csv in a directory.
func loadCSVSeries(o options) ([]csvSeries, error) {
	files := []string{o.data}
	if st, err := os.Stat(o.data); err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	} else if st.IsDir() {
		files, err = filepath.Glob(filepath.Join(o.data, "*.csv"))
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("csv: no *.csv files in %s", o.data)
		}
	}
	var out []csvSeries
	for _, f := range files {
		cols, err := columnsOf(f, o)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			y, err := loadOne(f, c, o)
			if err != nil {
				return nil, err
			}
			name := filepath.Base(f)
			if len(cols) > 1 || o.column != c {
				name += "#" + c
			}
			out = append(out, csvSeries{name: name, y: y})
		}
	}
	return out, nil
}

// columnsOf lists the columns --column names in file f: one name, a
// comma-separated list, or "all" (every column but the time column).
func columnsOf(f string, o options) ([]string, error) {
	if o.column != "all" {
		return strings.Split(o.column, ","), nil
	}
	fh, err := os.Open(f)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	defer fh.Close()
	header, err := csv.NewReader(fh).Read()
	if err != nil {
		return nil, fmt.Errorf("%s: csv header: %w", f, err)
	}
	var cols []string
	for _, h := range header {
		h = strings.TrimSpace(h)
		if h != "" && h != o.timeColumn {
			cols = append(cols, h)
		}
	}
	return cols, nil
}

func loadOne(path, column string, o options) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	defer f.Close()
	tab, err := forecast.ReadCSV(f, column, o.timeColumn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if tab.Times == nil {
		if err := forecast.CheckSeries(tab.Values); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return forecast.FillGaps(tab.Values), nil
	}
	_, y, err := forecast.Regularize(tab.Times, tab.Values, o.interval, maxGrid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := forecast.CheckSeries(y); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return y, nil
}

// runCSV evaluates every model on every series by rolling origin: the
// first half of each series warms the online forecaster up, then every
// later observation is an origin whose next h actuals are scored.
func runCSV(o options, stderr io.Writer) (*Report, error) {
	series, err := loadCSVSeries(o)
	if err != nil {
		return nil, err
	}
	models := modelList(o.model)
	if o.model == "" {
		models = append(models[:2], csvModels...)
	}
	for _, m := range models {
		if _, err := forecast.NewModel(m, forecast.Spec{}); err != nil {
			return nil, err
		}
	}
	if o.dump != "" {
		if err := dumpSeries(o.dump, series); err != nil {
			return nil, err
		}
	}
	for _, s := range series {
		if len(s.y) < 2*o.horizon+4 {
			return nil, fmt.Errorf("%s: %d points is too short for horizon %d: %w", s.name, len(s.y), o.horizon, forecast.ErrTooShort)
		}
	}
	models = append(models, plainSNaive)
	var bar *progress
	if !o.quiet {
		bar = newProgress(stderr, "csv", len(series)*len(models))
	}
	nm := len(models)
	flat := parallelMap(len(series)*nm, o.workers, func(i int) seriesScore {
		s := series[i/nm]
		sc := rollingScore(models[i%nm], s.y, o)
		bar.Inc()
		return sc
	})
	results := make([][]seriesScore, len(series))
	for i := range results {
		results[i] = flat[i*nm : (i+1)*nm]
	}
	for i, s := range series {
		for j, sc := range results[i] {
			if sc.err != nil {
				fmt.Fprintf(stderr, "forecast eval: %s %s: %v\n", s.name, models[j], sc.err)
			}
		}
	}
	name := "csv:" + filepath.Base(strings.TrimSuffix(o.data, "/"))
	rep := aggregate(name, models, results, o.horizon, false)
	rep.perSeries = perSeriesRows(series, models, results)
	rep.Checks = checks(rep.perSeries, models)
	rep.PerSeries = perSeriesOut(rep.perSeries, models)
	return rep, nil
}

// rollingScore runs one Online forecaster over y and scores every origin
// after the warm-up half.
func rollingScore(model string, y []float64, o options) seriesScore {
	if model == plainSNaive {
		return plainSNaiveScore(y, o)
	}
	start := time.Now()
	on, err := forecast.NewOnline(forecast.Config{Interval: o.interval, Horizon: o.horizon, Model: model})
	if err != nil {
		return seriesScore{err: err}
	}
	warm := len(y) / 2
	m := 1
	if ps := periodsOf(o.interval); len(ps) > 0 && warm > ps[0] {
		m = ps[0]
	}
	t0 := time.Unix(0, 0).UTC()
	var sm, ma float64
	var origins int
	sc := seriesScore{}
	for t, v := range y {
		on.Observe(t0.Add(time.Duration(t)*o.interval), v)
		if t < warm-1 || t+1 >= len(y) || (t-(warm-1))%o.stride != 0 {
			continue
		}
		q := on.LastForecast()
		end := min(t+1+o.horizon, len(y))
		actual := y[t+1 : end]
		p50 := make([]float64, len(actual))
		for k, a := range actual {
			p50[k] = q[k].P50
			sc.count90(a, q[k].P90)
			if a <= q[k].P99 {
				sc.below99++
			}
			sc.n++
		}
		sm += forecast.SMAPE(actual, p50)
		ma += forecast.MASE(y[:warm], actual, p50, m)
		origins++
	}
	if origins > 0 {
		sc.smape, sc.mase = sm/float64(origins), ma/float64(origins)
	}
	sc.seconds = time.Since(start).Seconds()
	return sc
}

func periodsOf(iv time.Duration) []int {
	var ps []int
	for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		if span%iv == 0 && span/iv >= 2 {
			ps = append(ps, int(span/iv))
		}
	}
	return ps
}

// plainSNaive is the textbook seasonal naive, scored outside the online
// machinery (no level-shift restart, no median correction): the forecast
// for t+k is the observation one season (one day) before it. It has no
// quantiles.
const plainSNaive = "snaive-plain"

func plainSNaiveScore(y []float64, o options) seriesScore {
	start := time.Now()
	warm := len(y) / 2
	m := 1
	if ps := periodsOf(o.interval); len(ps) > 0 && warm > ps[0] {
		m = ps[0]
	}
	var ma, sm float64
	var origins int
	for t := warm - 1; t+1 < len(y); t += o.stride {
		end := min(t+1+o.horizon, len(y))
		actual := y[t+1 : end]
		fc := make([]float64, len(actual))
		for k := range fc {
			j := t + 1 + k - m*((k+m)/m) // one season before, never after t
			fc[k] = y[max(j, 0)]
		}
		ma += forecast.MASE(y[:warm], actual, fc, m)
		sm += forecast.SMAPE(actual, fc)
		origins++
	}
	sc := seriesScore{} // n = 0: no quantiles, no coverage
	if origins > 0 {
		sc.mase, sc.smape = ma/float64(origins), sm/float64(origins)
	}
	sc.seconds = time.Since(start).Seconds()
	return sc
}

// dumpSeries writes every regularised series to dir as NAME (a file#column
// name becomes file_column.csv) with one column y.
func dumpSeries(dir string, series []csvSeries) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--dump: %w", err)
	}
	for _, s := range series {
		name := strings.ReplaceAll(strings.TrimSuffix(s.name, ".csv"), "#", "_")
		name = strings.ReplaceAll(name, ".csv", "") + ".csv"
		var b strings.Builder
		b.WriteString("y\n")
		for _, v := range s.y {
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("--dump: %w", err)
		}
	}
	return nil
}

package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/allot-dev/allot/forecast"
)

// m4Series is one M4 series with its test actuals.
type m4Series struct {
	id          string
	train, test []float64
}

// defaultModels are scored when --model is not given; the benchmarks naive2
// and snaive are always scored.
var defaultModels = []string{"naive", "ses", "theta", "ets", "smean", "sdrift", "snaive-weekly", "smean-weekly", "mstl", "mstl-log", "prophet", "prophet-log", "auto"}

func modelList(only string) []string {
	models := []string{"naive2", "snaive"}
	if only == "" {
		return append(models, defaultModels...)
	}
	for _, m := range strings.Split(only, ",") {
		if m = strings.TrimSpace(m); m != "" && m != "naive2" && m != "snaive" {
			models = append(models, m)
		}
	}
	return models
}

// loadM4 reads Hourly-train.csv and Hourly-test.csv from dir.
func loadM4(dir string) ([]m4Series, error) {
	train, err := readM4File(filepath.Join(dir, "Hourly-train.csv"))
	if err != nil {
		return nil, err
	}
	test, err := readM4File(filepath.Join(dir, "Hourly-test.csv"))
	if err != nil {
		return nil, err
	}
	if len(train) != len(test) {
		return nil, fmt.Errorf("m4: %d train series but %d test series", len(train), len(test))
	}
	out := make([]m4Series, len(train))
	for i := range train {
		if train[i].id != test[i].id {
			return nil, fmt.Errorf("m4: series %d is %q in train but %q in test", i, train[i].id, test[i].id)
		}
		out[i] = m4Series{id: train[i].id, train: train[i].vals, test: test[i].vals}
	}
	return out, nil
}

type idVals struct {
	id   string
	vals []float64
}

func readM4File(path string) ([]idVals, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("m4: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("m4: %s: header: %w", path, err)
	}
	var out []idVals
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("m4: %s: %w", path, err)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("m4: %s:%d: no values", path, line)
		}
		s := idVals{id: rec[0]}
		for _, field := range rec[1:] {
			field = strings.TrimSpace(field)
			if field == "" {
				break
			}
			v, err := strconv.ParseFloat(field, 64)
			if err != nil {
				return nil, fmt.Errorf("m4: %s:%d: %w", path, line, err)
			}
			s.vals = append(s.vals, v)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("m4: %s: no series", path)
	}
	return out, nil
}

// runM4 scores every model on every series, in parallel over series.
func runM4(o options, stderr io.Writer) (*Report, error) {
	series, err := loadM4(o.data)
	if err != nil {
		return nil, err
	}
	if o.limit > 0 && o.limit < len(series) {
		series = series[:o.limit]
	}
	models := modelList(o.model)
	for _, m := range models {
		if _, err := forecast.NewModel(m, forecast.Spec{}); err != nil {
			return nil, err
		}
	}
	spec := forecast.Spec{Periods: []int{24, 168}, Horizon: o.horizon}
	var bar *progress
	if !o.quiet {
		bar = newProgress(stderr, "m4-hourly", len(series))
	}
	results := parallelMap(len(series), o.workers, func(i int) []seriesScore {
		s := series[i]
		out := make([]seriesScore, len(models))
		for j, name := range models {
			out[j] = scoreOne(name, spec, s.train, s.test[:min(o.horizon, len(s.test))], 24)
		}
		bar.Inc()
		return out
	})
	rep := aggregate("m4-hourly", models, results, o.horizon, true)
	rep.Official = m4Official
	return rep, nil
}

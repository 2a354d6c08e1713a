package forecast

import (
	"encoding/csv"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

func loadM4Exp(path string) [][]float64 {
	f, _ := os.Open(path)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, _ := r.ReadAll()
	var out [][]float64
	for _, rec := range recs[1:] {
		var v []float64
		for _, s := range rec[1:] {
			if s == "" {
				break
			}
			x, _ := strconv.ParseFloat(s, 64)
			v = append(v, x)
		}
		out = append(out, v)
	}
	return out
}

func TestExpM4(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	tr := loadM4Exp("/work/shared/data/m4-hourly/Hourly-train.csv")
	te := loadM4Exp("/work/shared/data/m4-hourly/Hourly-test.csv")
	spec := Spec{Periods: []int{24, 168}, Horizon: 48}
	variants := map[string]func() Model{
		"naive2": func() Model { return NewNaive2(24) },
		"select": func() Model { return NewAuto(AutoConfig{Spec: spec}) },
		"best":   func() Model { return NewAuto(AutoConfig{Spec: spec, Combine: CombineBest}) },
		"median": func() Model { return NewAuto(AutoConfig{Spec: spec, Combine: CombineMedian}) },
		"logc": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "ses", "snaive", "ets", "theta", "mstl", "prophet", "snaive-weekly", "mstl-log", "prophet-log", "ets-log"}})
		},
		"logonly": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "snaive", "ets", "theta", "mstl-log", "prophet-log", "snaive-weekly"}})
		},
		"B": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "snaive", "ets", "theta", "mstl", "prophet", "mstl-log", "prophet-log", "snaive-weekly"}})
		},
		"C": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "snaive", "ets", "ets-log", "theta", "mstl-log", "prophet-log", "snaive-weekly"}})
		},
		"D": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "snaive", "ets", "mstl-log", "prophet-log", "snaive-weekly"}})
		},
		"E": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "snaive", "ets", "theta", "mstl-log", "prophet-log", "snaive-weekly", "smean", "smean-weekly"}})
		},
		"F": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "snaive", "ets", "theta", "mstl-log", "prophet-log", "smean-weekly"}})
		},
		"norefit": func() Model { return NewAuto(AutoConfig{Spec: spec, Refit: true}) },
		"drift": func() Model {
			return NewAuto(AutoConfig{Spec: spec, Candidates: []string{"naive", "ses", "snaive", "smean", "sdrift", "ets", "theta", "mstl-log", "prophet-log", "snaive-weekly", "smean-weekly"}})
		},
		"val96":  func() Model { return NewAuto(AutoConfig{Spec: spec, Validation: 96}) },
		"val336": func() Model { return NewAuto(AutoConfig{Spec: spec, Validation: 336}) },
	}
	names := []string{"naive2", "select", "best", "median", "val96", "val336"}
	if v := os.Getenv("EXPV"); v != "" {
		names = []string{"naive2", v}
	}
	res := make([][2]float64, len(names))
	var mu sync.Mutex
	for j, name := range names {
		start := time.Now()
		var wg sync.WaitGroup
		ch := make(chan int)
		var sm, ma float64
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ch {
					m := variants[name]()
					if err := m.Fit(tr[i]); err != nil {
						t.Error(err)
						continue
					}
					f, _ := m.Forecast(48)
					a, b := SMAPE(te[i], f), MASE(tr[i], te[i], f, 24)
					mu.Lock()
					sm += a
					ma += b
					mu.Unlock()
				}
			}()
		}
		for i := range tr {
			ch <- i
		}
		close(ch)
		wg.Wait()
		res[j] = [2]float64{sm / float64(len(tr)), ma / float64(len(tr))}
		fmt.Printf("%-8s smape %.3f mase %.3f owa %.4f  %.1fs\n", name, res[j][0], res[j][1],
			OWA(res[j][0], res[j][1], res[0][0], res[0][1]), time.Since(start).Seconds())
	}
}

func TestExpOne(t *testing.T) {
	path := os.Getenv("EXPF")
	if path == "" {
		t.Skip()
	}
	f, _ := os.Open(path)
	tab, _ := ReadCSV(f, "value", "timestamp")
	_, y, _ := Regularize(tab.Times, tab.Values, 5*time.Minute, 1e6)
	o, _ := NewOnline(Config{Interval: 5 * time.Minute, Horizon: 12, Model: os.Getenv("EXPM")})
	t0 := time.Unix(0, 0)
	prev := ErrorMetrics{}
	for i, v := range y {
		o.Observe(t0.Add(time.Duration(i)*5*time.Minute), v)
		if i%288 == 287 {
			m := o.Metrics()
			d := float64(m.N - prev.N)
			fmt.Printf("day %2d model %-40s shifts %d cov90 %.3f cov99 %.3f mase %.3f\n", i/288, o.ModelName(), m.LevelShifts,
				(m.CoverageP90*float64(m.N)-prev.CoverageP90*float64(prev.N))/d,
				(m.CoverageP99*float64(m.N)-prev.CoverageP99*float64(prev.N))/d,
				(m.MASE*float64(m.N)-prev.MASE*float64(prev.N))/d)
			prev = m
		}
	}
}

func TestExpTop(t *testing.T) {
	if os.Getenv("EXPTOP") == "" {
		t.Skip()
	}
	tr := loadM4Exp("/work/shared/data/m4-hourly/Hourly-train.csv")
	te := loadM4Exp("/work/shared/data/m4-hourly/Hourly-test.csv")
	spec := Spec{Periods: []int{24, 168}, Horizon: 48}
	type row struct {
		i    int
		mase float64
		name string
		alt  string
	}
	rows := make([]row, len(tr))
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				a := NewAuto(AutoConfig{Spec: spec})
				a.Fit(tr[i])
				f, _ := a.Forecast(48)
				alt := ""
				for _, n := range []string{"snaive", "smean-weekly", "ets", "mstl-log", "prophet-log", "theta"} {
					m, _ := NewModel(n, spec)
					if m.Fit(tr[i]) == nil {
						g, _ := m.Forecast(48)
						alt += fmt.Sprintf(" %s=%.2f", n, MASE(tr[i], te[i], g, 24))
					}
				}
				rows[i] = row{i, MASE(tr[i], te[i], f, 24), a.Name(), alt}
			}
		}()
	}
	for i := range tr {
		ch <- i
	}
	close(ch)
	wg.Wait()
	sort.Slice(rows, func(a, b int) bool { return rows[a].mase > rows[b].mase })
	tot := 0.0
	for _, r := range rows {
		tot += r.mase
	}
	fmt.Printf("total %.1f\n", tot)
	for _, r := range rows[:25] {
		fmt.Printf("H%d n=%d mase %.2f %s |%s\n", r.i+1, len(tr[r.i]), r.mase, r.name, r.alt)
	}
}

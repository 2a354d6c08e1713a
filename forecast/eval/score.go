package eval

import (
	"sync"
	"time"

	"github.com/allot-dev/allot/forecast"
)

// seriesScore is one model's result on one series (or one origin).
type seriesScore struct {
	smape, mase float64
	below90     int
	below99     int
	n           int
	seconds     float64
	err         error
}

// scoreOne fits name on train, forecasts len(test) steps and scores them.
func scoreOne(name string, spec forecast.Spec, train, test []float64, m int) seriesScore {
	start := time.Now()
	p, err := forecast.Predict(name, spec, train, len(test))
	sec := time.Since(start).Seconds()
	if err != nil {
		return seriesScore{err: err, seconds: sec}
	}
	sc := seriesScore{
		smape:   forecast.SMAPE(test, p.Point),
		mase:    forecast.MASE(train, test, p.Point, m),
		n:       len(test),
		seconds: sec,
	}
	for k, v := range test {
		if v <= p.Quantiles[k].P90 {
			sc.below90++
		}
		if v <= p.Quantiles[k].P99 {
			sc.below99++
		}
	}
	return sc
}

// parallelMap runs f(0..n-1) on workers goroutines and returns the results
// in order.
func parallelMap[T any](n, workers int, f func(int) T) []T {
	out := make([]T, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// aggregate averages per-series scores into report rows; results[i][j] is
// series i, model j. Series where a model failed are left out of its
// averages and counted in its Failed field.
func aggregate(dataset string, models []string, results [][]seriesScore, h int, withOWA bool) *Report {
	rep := &Report{Dataset: dataset, Series: len(results), Horizon: h}
	rows := make([]Row, len(models))
	for j, name := range models {
		var sm, ma, sec float64
		var b90, b99, n, cnt int
		for i := range results {
			s := results[i][j]
			sec += s.seconds
			if s.err != nil {
				continue
			}
			sm += s.smape
			ma += s.mase
			b90 += s.below90
			b99 += s.below99
			n += s.n
			cnt++
		}
		row := Row{Name: name, Seconds: round(sec, 2), Failed: len(results) - cnt}
		if cnt > 0 {
			row.SMAPE = sm / float64(cnt)
			row.MASE = ma / float64(cnt)
		}
		if n > 0 {
			row.Coverage90 = round(float64(b90)/float64(n), 4)
			row.Coverage99 = round(float64(b99)/float64(n), 4)
		}
		rows[j] = row
	}
	for j := range rows {
		if !withOWA {
			break
		}
		if owa, ok := forecast.OWA(rows[j].SMAPE, rows[j].MASE, rows[0].SMAPE, rows[0].MASE); ok {
			owa = round(owa, 4)
			rows[j].OWA = &owa
		}
	}
	for j := range rows {
		rows[j].SMAPE = round(rows[j].SMAPE, 4)
		rows[j].MASE = round(rows[j].MASE, 4)
	}
	rep.Models = rows
	rep.pickBest()
	return rep
}

package eval

import (
	"math"
	"sync"
	"time"

	"github.com/allot-dev/allot/forecast"
)

// seriesScore is one model's result on one series (or one origin).
type seriesScore struct {
	smape, mase float64
	below90     int // actuals ≤ p90 (ties covered)
	strict90    int // actuals < p90 beyond rounding (ties not covered)
	upto90      int // actuals ≤ p90 up to rounding
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
		sc.count90(v, p.Quantiles[k].P90)
		if v <= p.Quantiles[k].P99 {
			sc.below99++
		}
	}
	return sc
}

// count90 scores one actual against its forecast p90: at or below it
// (exactly, the original column), strictly below and at or below up to
// floating-point rounding (a tie is |actual - p90| ≤ tieTol × the larger
// magnitude: a value forecast exactly may come out a few ulps either side).
func (s *seriesScore) count90(actual, p90 float64) {
	tie := math.Abs(actual-p90) <= tieTol*math.Max(math.Abs(actual), math.Abs(p90))
	if actual <= p90 {
		s.below90++
	}
	if actual < p90 && !tie {
		s.strict90++
	}
	if actual <= p90 || tie {
		s.upto90++
	}
}

// tieTol is the relative difference below which an actual and its p90
// count as tied.
const tieTol = 1e-9

// The p90 band of the acceptance.
const (
	bandLo = 0.85
	bandHi = 0.95
)

// calibrated90 is the ties-aware check of a p90: with atoms in the
// distribution (exact zeros, values forecast exactly) q is a 0.9-quantile
// iff P(Y < q) ≤ 0.9 ≤ P(Y ≤ q), so the p90 counts as calibrated when the
// interval [strict, non-strict coverage] meets [0.85, 0.95]. Without ties
// the two coverages are equal and this is the one-sided band check; a
// series whose scored actuals are all zero and whose p90 is zero has
// [0, 1] and is calibrated.
func calibrated90(strict, nonStrict float64) bool {
	return strict <= bandHi && nonStrict >= bandLo
}

func inBand(cov float64) bool { return cov >= bandLo && cov <= bandHi }

// coverages returns the one-sided (exact ≤), strict and up-to-rounding
// p90 coverages; ok is false without quantiles. calibrated90(strict, upTo)
// is the ties-aware check.
func (s seriesScore) coverages() (nonStrict, strict, upTo float64, ok bool) {
	if s.n == 0 {
		return 0, 0, 0, false
	}
	n := float64(s.n)
	return float64(s.below90) / n, float64(s.strict90) / n, float64(s.upto90) / n, true
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
		var b90, s90, b99, n, cnt int
		for i := range results {
			s := results[i][j]
			sec += s.seconds
			if s.err != nil {
				continue
			}
			sm += s.smape
			ma += s.mase
			b90 += s.below90
			s90 += s.strict90
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
			row.Coverage90Strict = round(float64(s90)/float64(n), 4)
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

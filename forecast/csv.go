package forecast

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Table is one numeric column read from a CSV file, with its timestamps when
// a time column was named.
type Table struct {
	Times  []time.Time // nil without a time column
	Values []float64   // NaN where the field is empty or not a number
}

// maxCSVRows bounds the rows read, so a hostile file cannot exhaust memory.
const maxCSVRows = 10_000_000

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime parses an RFC 3339 or "YYYY-MM-DD HH:MM[:SS[.frac]]" timestamp
// (taken as UTC), or a number of seconds (since the Unix epoch or any other
// origin).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !isFinite(f) || math.Abs(f) > 1e11 {
		return time.Time{}, fmt.Errorf("unrecognised timestamp %q", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// ReadCSV reads column (and timeColumn, if not empty) from a CSV with a
// header row. Unparseable values become NaN; unparseable timestamps are an
// error.
func ReadCSV(r io.Reader, column, timeColumn string) (Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return Table{}, fmt.Errorf("csv header: %w", err)
	}
	vi, ti := -1, -1
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == column && vi < 0 {
			vi = i
		}
		if timeColumn != "" && h == timeColumn && ti < 0 {
			ti = i
		}
	}
	if vi < 0 {
		return Table{}, fmt.Errorf("csv: no column %q in header %q", column, strings.Join(header, ","))
	}
	if timeColumn != "" && ti < 0 {
		return Table{}, fmt.Errorf("csv: no time column %q in header %q", timeColumn, strings.Join(header, ","))
	}
	var tab Table
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Table{}, fmt.Errorf("csv: %w", err)
		}
		if line > maxCSVRows {
			return Table{}, fmt.Errorf("csv: more than %d rows", maxCSVRows)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		v := math.NaN()
		if vi < len(rec) {
			if f, err := strconv.ParseFloat(strings.TrimSpace(rec[vi]), 64); err == nil {
				v = f
			}
		}
		if ti >= 0 {
			if ti >= len(rec) {
				return Table{}, fmt.Errorf("csv line %d: missing time field", line)
			}
			t, err := ParseTime(rec[ti])
			if err != nil {
				return Table{}, fmt.Errorf("csv line %d: %w", line, err)
			}
			tab.Times = append(tab.Times, t)
		}
		tab.Values = append(tab.Values, v)
	}
	if len(tab.Values) == 0 {
		return Table{}, fmt.Errorf("csv: %w", ErrEmpty)
	}
	return tab, nil
}

// Regularize puts timestamped observations on an even grid of interval
// starting at the earliest timestamp: timestamps are rounded to the grid,
// observations sharing a grid point (duplicates, DST repeats) are averaged,
// NaN/Inf values are dropped, and empty grid points are filled by linear
// interpolation. It fails when no finite value remains or the grid would
// exceed maxPoints.
func Regularize(times []time.Time, values []float64, interval time.Duration, maxPoints int) (time.Time, []float64, error) {
	if interval <= 0 {
		return time.Time{}, nil, fmt.Errorf("regularize: interval %v: %w", interval, ErrBadConfig)
	}
	if len(times) != len(values) {
		return time.Time{}, nil, fmt.Errorf("regularize: %d times but %d values: %w", len(times), len(values), ErrBadConfig)
	}
	type obs struct {
		t time.Time
		v float64
	}
	var pts []obs
	for i, v := range values {
		if isFinite(v) {
			pts = append(pts, obs{times[i], v})
		}
	}
	if len(pts) == 0 {
		return time.Time{}, nil, fmt.Errorf("regularize: %w", ErrNoFinite)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].t.Before(pts[j].t) })
	start := pts[0].t
	span := pts[len(pts)-1].t.Sub(start)
	n := int(math.Round(float64(span)/float64(interval))) + 1
	if n > maxPoints || n < 1 {
		return time.Time{}, nil, fmt.Errorf("regularize: %d grid points exceed %d: %w", n, maxPoints, ErrBadConfig)
	}
	sum := make([]float64, n)
	cnt := make([]int, n)
	for _, p := range pts {
		i := int(math.Round(float64(p.t.Sub(start)) / float64(interval)))
		sum[i] += p.v
		cnt[i]++
	}
	y := make([]float64, n)
	for i := range y {
		if cnt[i] > 0 {
			y[i] = sum[i] / float64(cnt[i])
		} else {
			y[i] = math.NaN()
		}
	}
	return start, FillGaps(y), nil
}

package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Series is one candidate workload series read from a CSV file, resampled
// onto a regular grid of Step.
type Series struct {
	File     string // path relative to the trace directory
	Column   string // column name, or the row label for row-wise files
	Resource bidding.Resource
	Step     time.Duration
	Values   []float64
}

// ID names the series as file#column.
func (s *Series) ID() string { return s.File + "#" + s.Column }

// LoadTraces reads every CSV file below dir. Each numeric column other than
// a time column (timestamp, time) is a series; row-wise files (a label in
// the first column and V1…Vn headers, as in M4) give one series per row.
// Files without a usable time column are taken at defaultStep (hourly for
// M4-style files). Unreadable files are skipped and reported in skipped.
func LoadTraces(dir string, defaultStep time.Duration) (out []*Series, skipped []string, err error) {
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".csv") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing traces in %s: %w", dir, err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no CSV file below %s", dir)
	}
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		ss, err := loadCSV(p, rel, defaultStep)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		out = append(out, ss...)
	}
	return out, skipped, nil
}

func loadCSV(path, rel string, defaultStep time.Duration) ([]*Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading rows: %w", err)
		}
		rows = append(rows, rec)
	}
	if isRowWise(header) {
		return rowSeries(rel, rows, time.Hour), nil
	}
	return columnSeries(rel, header, rows, defaultStep)
}

var vHeader = regexp.MustCompile(`^V[0-9]+$`)

// isRowWise spots the M4 layout: headers V1, V2, … with many columns.
func isRowWise(header []string) bool {
	if len(header) < 20 {
		return false
	}
	for _, h := range header {
		if !vHeader.MatchString(strings.TrimSpace(h)) {
			return false
		}
	}
	return true
}

func rowSeries(rel string, rows [][]string, step time.Duration) []*Series {
	var out []*Series
	for _, row := range rows {
		if len(row) < 2 {
			continue
		}
		var v []float64
		for _, c := range row[1:] {
			x, err := strconv.ParseFloat(strings.TrimSpace(c), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			v = append(v, x)
		}
		if len(v) < 2 {
			continue
		}
		out = append(out, &Series{File: rel, Column: strings.TrimSpace(row[0]), Resource: ResourceFor(row[0]), Step: step, Values: v})
	}
	return out
}

// isTimeColumn reports whether a header names the time column.
func isTimeColumn(h string) bool {
	h = strings.ToLower(strings.TrimSpace(h))
	return h == "timestamp" || h == "time"
}

func columnSeries(rel string, header []string, rows [][]string, defaultStep time.Duration) ([]*Series, error) {
	tcol := -1
	for i, h := range header {
		if isTimeColumn(h) {
			tcol = i
			break
		}
	}
	var times []float64 // seconds; nil without a time column
	if tcol >= 0 {
		times = make([]float64, len(rows))
		for i, row := range rows {
			times[i] = math.NaN()
			if tcol < len(row) {
				times[i] = parseTime(row[tcol])
			}
		}
	}
	var out []*Series
	for c, h := range header {
		if c == tcol {
			continue
		}
		var ts, vs []float64
		bad := 0
		for i, row := range rows {
			if c >= len(row) {
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(row[c]), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				bad++
				continue
			}
			if times != nil {
				if math.IsNaN(times[i]) {
					continue
				}
				ts = append(ts, times[i])
			}
			vs = append(vs, x)
		}
		if len(vs) < 2 || bad > len(rows)/2 {
			continue // not a numeric column
		}
		step := defaultStep
		if ts != nil {
			vs, step = resample(ts, vs, defaultStep)
		}
		if len(vs) < 2 {
			continue
		}
		out = append(out, &Series{File: rel, Column: strings.TrimSpace(h), Resource: resourceForColumn(rel, h), Step: step, Values: vs})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no numeric column")
	}
	return out, nil
}

// parseTime reads a timestamp as seconds: a number (seconds), RFC 3339 or
// "YYYY-MM-DD HH:MM:SS" (no zone: taken as UTC). NaN when unreadable.
func parseTime(s string) float64 {
	s = strings.TrimSpace(s)
	if x, err := strconv.ParseFloat(s, 64); err == nil {
		return x
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return float64(t.Unix())
		}
	}
	return math.NaN()
}

// resourceForColumn picks the resource from the column name, or from the
// file name when the column name is generic (NAB's "value").
func resourceForColumn(file, col string) bidding.Resource {
	if r, ok := resourceByName(col); ok {
		return r
	}
	if r, ok := resourceByName(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))); ok {
		return r
	}
	return bidding.CPU
}

// ResourceFor maps a series name to a resource: a word starting with cpu,
// mem, disk or io, net (in that order of precedence); otherwise cpu.
func ResourceFor(name string) bidding.Resource {
	r, _ := resourceByName(name)
	return r
}

func resourceByName(name string) (bidding.Resource, bool) {
	words := strings.FieldsFunc(strings.ToLower(name), func(c rune) bool {
		return !(c >= 'a' && c <= 'z')
	})
	for _, p := range []struct {
		prefix string
		r      bidding.Resource
	}{{"cpu", bidding.CPU}, {"mem", bidding.Memory}, {"disk", bidding.IO}, {"io", bidding.IO}, {"net", bidding.Net}} {
		for _, w := range words {
			if strings.HasPrefix(w, p.prefix) && !(p.prefix == "io" && w != "io" && !strings.HasPrefix(w, "iops")) {
				return p.r, true
			}
		}
	}
	return bidding.CPU, false
}

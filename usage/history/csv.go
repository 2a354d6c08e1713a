package history

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// timeColumns are the names a CSV's time column may have.
var timeColumns = []string{"time", "timestamp", "t"}

// parseCSV reads a header row naming a time column (time, timestamp or t)
// and resource columns (cpu, memory, io, net), then one row per instant.
// Without Options.Resource every other column is an error naming it; with
// it, only that column is read and the others are ignored.
func parseCSV(data []byte, o Options) (map[string][]point, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want a header row such as time,cpu,memory")
	}
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	header = slices.Clone(header)
	timeCol := -1
	cols := map[int]bidding.Resource{}
	var unknown []string
	seen := map[string]bool{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return nil, fmt.Errorf("line 1: column %q appears twice", name)
		}
		seen[name] = true
		if slices.Contains(timeColumns, name) {
			if timeCol >= 0 {
				return nil, fmt.Errorf("line 1: two time columns, %q and %q", header[timeCol], header[i])
			}
			timeCol = i
			continue
		}
		if o.Resource != "" {
			if name == o.Resource {
				res, _ := bidding.ParseResource(name)
				cols[i] = res
			}
			continue
		}
		res, err := bidding.ParseResource(name)
		if err != nil {
			unknown = append(unknown, strconv.Quote(name))
			continue
		}
		cols[i] = res
	}
	if timeCol < 0 {
		return nil, fmt.Errorf("line 1: no time column (name one time, timestamp or t) in header %q", strings.Join(header, ","))
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("line 1: unknown column(s) %s: columns are the time and cpu, memory, io, net (or select one with --resource and the others are ignored)", strings.Join(unknown, ", "))
	}
	if len(cols) == 0 {
		if o.Resource != "" {
			return nil, fmt.Errorf("line 1: no column %q (--resource) in header %q", o.Resource, strings.Join(header, ","))
		}
		return nil, fmt.Errorf("line 1: no resource column (cpu, memory, io, net) in header %q", strings.Join(header, ","))
	}
	series := map[string][]point{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		src := "line " + strconv.Itoa(line)
		t, err := parseTime(rec[timeCol])
		if err != nil {
			return nil, fmt.Errorf("%s, column %s: %w", src, header[timeCol], err)
		}
		for _, i := range slices.Sorted(maps.Keys(cols)) {
			res := cols[i]
			v, err := value(res, rec[i], o.Scale)
			if err != nil {
				return nil, fmt.Errorf("%s, column %s: %w", src, res, err)
			}
			series[res.String()] = append(series[res.String()], point{t: t, v: v, src: src})
		}
	}
	if len(series) == 0 {
		return nil, errors.New("no data rows after the header")
	}
	return series, nil
}

// parseTime reads RFC 3339 (with a zone) or Unix seconds (possibly with
// a fraction).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return unixSeconds(f, s)
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2026-12-01T10:00:00Z) or Unix seconds", s)
}

// unixSeconds converts a Unix time in seconds, refusing what is not finite
// or outside [1970, 2200).
func unixSeconds(f float64, s string) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= 7258118400 {
		return time.Time{}, fmt.Errorf("%q is not a Unix time in seconds within [1970, 2200)", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

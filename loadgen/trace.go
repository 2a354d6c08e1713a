package loadgen

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Trace is one column of a CSV trace: the value of each step, in the
// trace's own unit (scaled into the resource's unit by the caller).
type Trace struct {
	Column string    // the header of the column read
	Values []float64 // one per data row, finite and non-negative
}

// maxTraceRows bounds what a trace may hold (a year of 3 s steps is ~10M).
const maxTraceRows = 20_000_000

// ReadTraceFile reads column of the CSV trace in file.
func ReadTraceFile(file, column string) (*Trace, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr, err := ReadTrace(f, column)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return tr, nil
}

// ReadTrace decodes a CSV trace: a header row, then one row per step. The
// column is a header name (exact, else case-insensitive) or, when no
// header matches, a 0-based index. Every row must have that column, holding
// a finite, non-negative number; there must be at least one row.
func ReadTrace(r io.Reader, column string) (*Trace, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("empty trace: want a header row and one row per step")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col, err := findColumn(head, column)
	if err != nil {
		return nil, err
	}
	tr := &Trace{Column: strings.TrimSpace(head[col])}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // csv errors name the line
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if col >= len(rec) {
			return nil, fmt.Errorf("line %d: no column %d (%q): the row has %d", row, col, tr.Column, len(rec))
		}
		cell := strings.TrimSpace(rec[col])
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("line %d, column %q: %q is not a finite non-negative number", row, tr.Column, cell)
		}
		if len(tr.Values) >= maxTraceRows {
			return nil, fmt.Errorf("line %d: more than %d rows", row, maxTraceRows)
		}
		tr.Values = append(tr.Values, v)
	}
	if len(tr.Values) == 0 {
		return nil, fmt.Errorf("trace has a header but no rows")
	}
	return tr, nil
}

func findColumn(head []string, column string) (int, error) {
	want := strings.TrimSpace(column)
	for i, h := range head {
		if strings.TrimSpace(h) == want {
			return i, nil
		}
	}
	for i, h := range head {
		if strings.EqualFold(strings.TrimSpace(h), want) {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(want); err == nil && n >= 0 && n < len(head) {
		return n, nil
	}
	names := make([]string, len(head))
	for i, h := range head {
		names[i] = strings.TrimSpace(h)
	}
	return 0, fmt.Errorf("no column %q: the header has %q (a name, or an index from 0 to %d)", column, names, len(head)-1)
}

// At returns the value of step n (0-based) and whether there is one: past
// the end, a looping trace wraps and another one ends.
func (t *Trace) At(n int, loop bool) (float64, bool) {
	if n < len(t.Values) {
		return t.Values[n], true
	}
	if !loop || len(t.Values) == 0 {
		return 0, false
	}
	return t.Values[n%len(t.Values)], true
}

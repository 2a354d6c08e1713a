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
	trs, err := ReadTraceFileColumns(file, []string{column})
	if err != nil {
		return nil, err
	}
	return trs[0], nil
}

// ReadTraceFileColumns reads columns of the CSV trace in file, in one pass.
func ReadTraceFileColumns(file string, columns []string) ([]*Trace, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	trs, err := ReadTraceColumns(f, columns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return trs, nil
}

// ReadTrace decodes a CSV trace: a header row, then one row per step. The
// column is a header name (exact, else case-insensitive) or, when no
// header matches, a 0-based index. Every row must have that column, holding
// a finite, non-negative number; there must be at least one row.
func ReadTrace(r io.Reader, column string) (*Trace, error) {
	trs, err := ReadTraceColumns(r, []string{column})
	if err != nil {
		return nil, err
	}
	return trs[0], nil
}

// ReadTraceColumns is ReadTrace for several columns at once, read in one
// pass: one Trace per column, in the order given, all of the same length.
// Every row must have every column.
func ReadTraceColumns(r io.Reader, columns []string) ([]*Trace, error) {
	if len(columns) == 0 {
		return nil, fmt.Errorf("no column to read")
	}
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
	cols := make([]int, len(columns))
	trs := make([]*Trace, len(columns))
	for i, c := range columns {
		if cols[i], err = findColumn(head, c); err != nil {
			return nil, err
		}
		trs[i] = &Trace{Column: strings.TrimSpace(head[cols[i]])}
	}
	vals := make([]float64, len(cols))
	for rows := 0; ; {
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
		line, _ := cr.FieldPos(0) // the line the row starts on (blank lines and quoted newlines counted)
		for i, col := range cols {
			if col >= len(rec) {
				return nil, fmt.Errorf("line %d: no column %d (%q): the row has %d", line, col, trs[i].Column, len(rec))
			}
			cell := strings.TrimSpace(rec[col])
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("line %d, column %q: %q is not a finite non-negative number", line, trs[i].Column, cell)
			}
			vals[i] = v
		}
		if rows >= maxTraceRows {
			return nil, fmt.Errorf("line %d: more than %d rows", line, maxTraceRows)
		}
		rows++
		for i, tr := range trs {
			tr.Values = append(tr.Values, vals[i])
		}
	}
	if len(trs[0].Values) == 0 {
		return nil, fmt.Errorf("trace has a header but no rows")
	}
	return trs, nil
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

package forecast

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestReadCSV(t *testing.T) {
	cases := []struct {
		name, in, col, tcol string
		wantN               int
		wantErr             bool
	}{
		{"nab", "timestamp,value\n2014-02-14 14:30:00,0.132\n2014-02-14 14:35:00,0.134\n", "value", "timestamp", 2, false},
		{"seconds", "timestamp,cpu_usage\n0,1.5\n300,2\n", "cpu_usage", "timestamp", 2, false},
		{"no time", "avg_cpu,avg_mem\n0.4,0.3\n0.5,0.2\n,0.1\n", "avg_cpu", "", 3, false},
		{"rfc3339", "t,v\n2026-01-01T00:00:00Z,1\n", "v", "t", 1, false},
		{"bom", "\ufefft,v\n2026-01-01 00:00,1\n", "v", "t", 1, false},
		{"missing column", "a,b\n1,2\n", "c", "", 0, true},
		{"missing time column", "a,b\n1,2\n", "a", "x", 0, true},
		{"bad time", "t,v\nyesterday,1\n", "v", "t", 0, true},
		{"empty", "t,v\n", "v", "t", 0, true},
		{"no header", "", "v", "", 0, true},
		{"short row", "t,v\n2026-01-01,\n", "v", "t", 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab, err := ReadCSV(strings.NewReader(c.in), c.col, c.tcol)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v", err)
			}
			if err == nil && len(tab.Values) != c.wantN {
				t.Fatalf("got %d values", len(tab.Values))
			}
		})
	}
	tab, _ := ReadCSV(strings.NewReader("avg_cpu\n0.4\nx\n"), "avg_cpu", "")
	if !math.IsNaN(tab.Values[1]) {
		t.Errorf("unparseable value not NaN: %v", tab.Values)
	}
}

// FuzzReadCSV: the loader and the regularisation never panic, and whatever
// they accept can be forecast without NaN.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("timestamp,value\n2014-02-14 14:30:00,0.132\n2014-03-09 03:00:00,1\n2014-03-09 03:00:00,2\n"), true)
	f.Add([]byte("timestamp,value\n0,1\n300,NaN\n900,1e308\n"), true)
	f.Add([]byte("value\n1\n2\n\n3"), false)
	f.Add([]byte("\"value\"\n\"1\"\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, timed bool) {
		tcol := ""
		if timed {
			tcol = "timestamp"
		}
		tab, err := ReadCSV(bytes.NewReader(data), "value", tcol)
		if err != nil {
			return
		}
		y := tab.Values
		if timed {
			if _, y, err = Regularize(tab.Times, tab.Values, 5*time.Minute, 5000); err != nil {
				return
			}
		}
		if CheckSeries(y) != nil {
			return
		}
		p, err := Predict("auto", Spec{Periods: []int{12}}, y, 3)
		if err != nil {
			t.Fatalf("predict on accepted input: %v", err)
		}
		for _, q := range p.Quantiles {
			if !isFinite(q.P50) || !isFinite(q.P99) || q.P99 < q.P50 {
				t.Fatalf("bad quantiles %+v", q)
			}
		}
	})
}

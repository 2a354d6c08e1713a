package loadgen

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestReadTrace(t *testing.T) {
	cases := []struct {
		in, col string
		name    string
		want    []float64
		err     string
	}{
		{"time,cpu,mem\n0,1.5,10\n1,2,20\n", "cpu", "cpu", []float64{1.5, 2}, ""},
		{"time,CPU\n0,1\n", "cpu", "CPU", []float64{1}, ""},
		{"time, cpu \n0, 0.25\n\n1,3e-1\n", "cpu", "cpu", []float64{0.25, 0.3}, ""},
		{"a,b,c\n1,2,3\n", "2", "c", []float64{3}, ""},
		{"2,b\n7,8\n", "2", "2", []float64{7}, ""}, // a header named "2" wins over index 2
		{"a,b\n1,2\n", "5", "", nil, `no column "5"`},
		{"a,b\n1,2\n", "z", "", nil, `no column "z"`},
		{"", "a", "", nil, "empty trace"},
		{"a\n", "a", "", nil, "no rows"},
		{"a,b\n1\n", "b", "", nil, "line 2"},
		{"a\nx\n", "a", "", nil, `"x" is not`},
		{"a\n-1\n", "a", "", nil, "non-negative"},
		{"a\nNaN\n", "a", "", nil, "finite"},
		{"a\n+Inf\n", "a", "", nil, "finite"},
		{"a\n\"1\n", "a", "", nil, "quote"},
		{"a,b\n1,2\n\n\n3\n", "b", "", nil, "line 5"}, // blank lines count
	}
	for _, c := range cases {
		tr, err := ReadTrace(strings.NewReader(c.in), c.col)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q col %q: err %v, want %q", c.in, c.col, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q col %q: %v", c.in, c.col, err)
			continue
		}
		if tr.Column != c.name || !slices.Equal(tr.Values, c.want) {
			t.Errorf("%q col %q: %q %v, want %q %v", c.in, c.col, tr.Column, tr.Values, c.name, c.want)
		}
	}
}

func TestReadTraceColumns(t *testing.T) {
	cases := []struct {
		in   string
		cols []string
		want [][]float64
		err  string
	}{
		{"t,cpu,Memory\n0,1.5,10\n1,2,20\n", []string{"cpu", "memory"}, [][]float64{{1.5, 2}, {10, 20}}, ""},
		{"t,cpu,memory\n0,1,2\n", []string{"memory", "cpu"}, [][]float64{{2}, {1}}, ""},
		{"t,cpu,memory\n0,1,2\n", []string{"cpu", "io"}, nil, `no column "io"`},
		{"t,cpu,memory\n0,1,2\n1,3\n", []string{"cpu", "memory"}, nil, `line 3: no column 2 ("memory")`},
		{"t,cpu,memory\n0,1,2\n1,3,x\n", []string{"cpu", "memory"}, nil, `line 3, column "memory": "x"`},
		{"t,cpu,memory\n0,1,2\n1,-3,2\n", []string{"cpu", "memory"}, nil, `line 3, column "cpu"`},
		{"t,cpu,memory\n", []string{"cpu", "memory"}, nil, "no rows"},
		{"t,cpu\n0,1\n", nil, nil, "no column"},
	}
	for _, c := range cases {
		trs, err := ReadTraceColumns(strings.NewReader(c.in), c.cols)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q cols %q: err %v, want %q", c.in, c.cols, err, c.err)
			}
			continue
		}
		if err != nil || len(trs) != len(c.want) {
			t.Errorf("%q cols %q: %d traces, %v", c.in, c.cols, len(trs), err)
			continue
		}
		for i, tr := range trs {
			if !slices.Equal(tr.Values, c.want[i]) {
				t.Errorf("%q cols %q: column %d = %v, want %v", c.in, c.cols, i, tr.Values, c.want[i])
			}
		}
	}
}

func TestTraceAt(t *testing.T) {
	tr := &Trace{Values: []float64{1, 2, 3}}
	for _, c := range []struct {
		n    int
		loop bool
		v    float64
		ok   bool
	}{{0, false, 1, true}, {2, false, 3, true}, {3, false, 0, false}, {3, true, 1, true}, {7, true, 2, true}} {
		if v, ok := tr.At(c.n, c.loop); v != c.v || ok != c.ok {
			t.Errorf("At(%d, %v) = %v %v, want %v %v", c.n, c.loop, v, ok, c.v, c.ok)
		}
	}
}

// FuzzTrace: the decoder never panics, and a trace it accepts has at least
// one row, every value finite and non-negative, and decodes the same again.
func FuzzTrace(f *testing.F) {
	f.Add("time,cpu\n0,1.5\n1,2\n", "cpu")
	f.Add("a,b\n1,2\n", "1")
	f.Add("\"a\nb\",c\n1,2\n", "c")
	f.Add("a\n1e308\n", "a")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, in, col string) {
		tr, err := ReadTrace(strings.NewReader(in), col)
		if err != nil {
			return
		}
		if len(tr.Values) == 0 {
			t.Fatal("accepted a trace with no rows")
		}
		for _, v := range tr.Values {
			if !(v >= 0) || math.IsInf(v, 0) {
				t.Fatalf("accepted value %v", v)
			}
		}
		again, err := ReadTrace(strings.NewReader(in), col)
		if err != nil || !slices.Equal(again.Values, tr.Values) {
			t.Fatalf("not deterministic: %v %v", again, err)
		}
		// Read twice in one pass, the column is the same both times.
		two, err := ReadTraceColumns(strings.NewReader(in), []string{col, col})
		if err != nil || len(two) != 2 || !slices.Equal(two[0].Values, tr.Values) || !slices.Equal(two[1].Values, tr.Values) {
			t.Fatalf("two of the same column differ from one: %v %v", two, err)
		}
	})
}

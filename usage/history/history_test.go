package history

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/fsm"
)

var opts = Options{Service: "web", Node: "node-1"}

func with(mod func(o *Options)) Options {
	o := opts
	mod(&o)
	return o
}

func TestParseCSV(t *testing.T) {
	in := "# exported from grafana\n" +
		"Time,cpu,memory\n" +
		"2026-12-01T10:10:00Z,810,512MiB\n" +
		"2026-12-01T10:00:00Z,250m,536870912\n" + // out of order: sorted
		"1796119500,1.5,0.5GiB\n" // Unix seconds for 10:05
	imp, err := Parse([]byte(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	h := imp.History
	if h.Service != "web" || h.Node != "node-1" || h.IntervalMS != 300000 {
		t.Fatalf("history %+v", h)
	}
	cpu, mem := h.Points["cpu"], h.Points["memory"]
	if len(cpu) != 3 || cpu[0].V != 250 || cpu[1].V != 1.5 || cpu[2].V != 810 {
		t.Fatalf("cpu %+v: 250m is 250 millicores, a bare number is base units", cpu)
	}
	if mem[0].V != 536870912 || mem[1].V != 512<<20 || mem[2].V != 512<<20 {
		t.Fatalf("memory %+v", mem)
	}
	if !cpu[1].T.Equal(time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC)) || imp.Points != 6 || imp.Per["cpu"] != 3 ||
		!imp.From.Equal(cpu[0].T) || !imp.To.Equal(cpu[2].T) {
		t.Fatalf("times %+v, import %+v", cpu, imp)
	}
	// --scale multiplies bare numbers only; --resource reads one column and ignores the rest.
	imp, err = Parse([]byte("timestamp,host,cpu,memory\n1796119200,a,0.8,1GiB\n1796119260,a,0.9,1GiB\n"), with(func(o *Options) { o.Resource, o.Scale = "cpu", 1000 }))
	if err != nil {
		t.Fatal(err)
	}
	if p := imp.History.Points; len(p) != 1 || p["cpu"][0].V != 800 || p["cpu"][1].V != 900 || imp.History.IntervalMS != 60000 {
		t.Fatalf("scaled %+v", imp.History)
	}
	// --interval overrides the median.
	imp, err = Parse([]byte("t,net\n0,50Mbit\n7,10\n"), with(func(o *Options) { o.Interval = 5 * time.Second }))
	if err != nil || imp.History.IntervalMS != 5000 || imp.History.Points["net"][0].V != 50e6 {
		t.Fatalf("%+v %v", imp.History, err)
	}
}

func TestParseBadInput(t *testing.T) {
	rows := func(n int, step time.Duration) string {
		var b strings.Builder
		b.WriteString("time,cpu\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%.3f,%d\n", 1796119200+(time.Duration(i)*step).Seconds(), 100+i%7)
		}
		return b.String()
	}
	cases := []struct {
		name, in string
		o        Options
		want     string
	}{
		{"empty", "", opts, "empty file"},
		{"blank", " \n\n", opts, "empty file"},
		{"only comments", "# nothing\n", opts, "empty file"},
		{"header only", "time,cpu\n", opts, "no data rows"},
		{"no time column", "when,cpu\n1,2\n", opts, "no time column"},
		{"no time column with resource", "when,cpu\n1,2\n", with(func(o *Options) { o.Resource = "cpu" }), "no time column"},
		{"two time columns", "time,t,cpu\n1,2,3\n", opts, "two time columns"},
		{"unknown columns", "time,cpu,gpu,host\n1,2,3,4\n", opts, `unknown column(s) "gpu", "host"`},
		{"duplicate column", "time,cpu,CPU\n1,2,3\n", opts, `column "cpu" appears twice`},
		{"no resource column", "time\n1\n", opts, "no resource column"},
		{"missing --resource column", "time,cpu\n1,2\n", with(func(o *Options) { o.Resource = "memory" }), `no column "memory"`},
		{"bad time", "time,cpu\n2026-12-01T10:00:00Z,1\nyesterday,2\n", opts, `line 3, column time: "yesterday" is not an RFC 3339 time`},
		{"time without zone", "time,cpu\n2026-12-01T10:00:00,1\n", opts, "line 2, column time"},
		{"negative unix time", "time,cpu\n-5,1\n", opts, "line 2, column time"},
		{"negative", "time,cpu\n1796119200,1\n1796119260,-3\n", opts, `line 3, column cpu: "-3" is negative`},
		{"NaN", "time,cpu\n1796119200,NaN\n", opts, `line 2, column cpu: "NaN" is not a finite number`},
		{"Inf", "time,cpu\n1796119200,+Inf\n", opts, `line 2, column cpu: "+Inf" is not a finite number`},
		{"bad quantity", "time,memory\n1796119200,12 parsecs\n", opts, "line 2, column memory"},
		{"empty value", "time,cpu,memory\n1796119200,,1\n", opts, "line 2, column cpu: empty value"},
		{"too large", "time,cpu\n1796119200,1e300\n", opts, "too large"},
		{"short row", "time,cpu\n1796119200\n", opts, "wrong number of fields"},
		{"duplicate time", "time,cpu\n1796119200,1\n1796119500,2\n2026-12-01T10:00:00Z,3\n", opts, "line 4: time 2026-12-01T10:00:00Z repeats line 2's"},
		{"one point", "time,cpu\n1796119200,1\n", opts, "give --interval"},
		{"interval too short", rows(3, 100*time.Millisecond), opts, "median spacing"},
		{"interval too long", rows(3, 2*time.Hour), opts, "median spacing"},
		{"bad --interval", rows(3, time.Minute), with(func(o *Options) { o.Interval = 2 * time.Hour }), "--interval"},
		{"bad --scale", rows(3, time.Minute), with(func(o *Options) { o.Scale = -1 }), "--scale"},
		{"bad --resource", rows(3, time.Minute), with(func(o *Options) { o.Resource = "gpu" }), "--resource"},
		{"bad service", rows(3, time.Minute), with(func(o *Options) { o.Service = "" }), "--service"},
		{"bad node", rows(3, time.Minute), with(func(o *Options) { o.Node = "a b" }), "--node"},
		{"prom without --resource", `{"status":"success"}`, opts, "--resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBoundKeepsTheNewest(t *testing.T) {
	var b strings.Builder
	b.WriteString("time,cpu\n")
	n := fsm.MaxHistoryPoints + 100
	for i := n - 1; i >= 0; i-- { // newest first, as some exports are
		fmt.Fprintf(&b, "%d,%d\n", 1796119200+300*i, i)
	}
	imp, err := Parse([]byte(b.String()), opts)
	if err != nil {
		t.Fatal(err)
	}
	cpu := imp.History.Points["cpu"]
	if len(cpu) != fsm.MaxHistoryPoints || cpu[0].V != 100 || cpu[len(cpu)-1].V != float64(n-1) {
		t.Fatalf("kept %d points from %v to %v, want the newest %d", len(cpu), cpu[0].V, cpu[len(cpu)-1].V, fsm.MaxHistoryPoints)
	}
	if len(imp.Warnings) != 1 || !strings.Contains(imp.Warnings[0], "kept the newest 8064") {
		t.Fatalf("warnings %q", imp.Warnings)
	}
}

const promOne = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"web-0"},"values":[[1796119200,"0.42"],[1796119500.5,"0.8"],[1796119800,"1"]]}]}}`

func TestParsePromJSON(t *testing.T) {
	imp, err := Parse([]byte("\n  "+promOne), with(func(o *Options) { o.Resource, o.Scale = "cpu", 1000 }))
	if err != nil {
		t.Fatal(err)
	}
	cpu := imp.History.Points["cpu"]
	if len(cpu) != 3 || cpu[0].V != 420 || cpu[2].V != 1000 || imp.History.IntervalMS != 300000 ||
		!cpu[1].T.Equal(time.Date(2026, 12, 1, 10, 5, 0, 500e6, time.UTC)) {
		t.Fatalf("%+v", imp.History)
	}
	cpuOpts := with(func(o *Options) { o.Resource = "cpu" })
	two := strings.Replace(promOne, `]]}]}}`, `]]},{"metric":{"pod":"web-1"},"values":[]}]}}`, 1)
	cases := []struct{ name, in, want string }{
		{"error status", `{"status":"error","error":"bad query"}`, `status "error" (bad query)`},
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, `resultType "vector"`},
		{"no series", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "no series"},
		{"two series", two, `2 series, want exactly one: narrow the query`},
		{"no values", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[]}]}}`, "no values"},
		{"not json", `{"status":`, "prometheus JSON"},
		{"short pair", strings.Replace(promOne, `[1796119800,"1"]`, `[1796119800]`, 1), "values[2]: 1 elements"},
		{"string time", strings.Replace(promOne, `[1796119800,`, `["soon",`, 1), `values[2]: time "soon"`},
		{"number value", strings.Replace(promOne, `"0.8"`, `0.8`, 1), "values[1]: value 0.8 is not a string"},
		{"NaN", strings.Replace(promOne, `"0.8"`, `"NaN"`, 1), `values[1]: "NaN" is not a finite number`},
		{"Inf", strings.Replace(promOne, `"0.8"`, `"+Inf"`, 1), `values[1]: "+Inf" is not a finite number`},
		{"negative", strings.Replace(promOne, `"1"`, `"-1"`, 1), `values[2]: "-1" is negative`},
		{"duplicate time", strings.Replace(promOne, `1796119800,`, `1796119200,`, 1), "values[2]: time 2026-12-01T10:00:00Z repeats values[0]'s"},
		{"time out of range", strings.Replace(promOne, `1796119800,`, `1e12,`, 1), "values[2]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), cpuOpts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// check is what every fuzz input must satisfy: an error, or a history
// the server would accept (so nothing refused is ever sent).
func check(t *testing.T, imp Import, err error) {
	if err != nil {
		if err.Error() == "" {
			t.Fatal("an empty error message")
		}
		return
	}
	if verr := imp.History.Validate(); verr != nil {
		t.Fatalf("decoded a history the server refuses: %v", verr)
	}
	n := 0
	for _, pts := range imp.History.Points {
		n += len(pts)
	}
	if n != imp.Points || n == 0 {
		t.Fatalf("%d points, summary says %d", n, imp.Points)
	}
}

func FuzzImportCSV(f *testing.F) {
	f.Add("time,cpu,memory\n2026-12-01T10:00:00Z,250m,512MiB\n2026-12-01T10:05:00Z,300,1GiB\n", "")
	f.Add("t,net,io\n1796119200,50Mbit,10MiB/s\n1796119260,1e6,0\n", "")
	f.Add("timestamp,host,cpu\n1796119200,a,1.5\n1796119201,b,NaN\n", "cpu")
	f.Add("time,cpu\n1796119200,1\n1796119200,2\n", "")
	f.Add("\ufefftime,\"cpu\"\n\"1796119200\",\"1\"\n# c\n1796119300.5,2\n", "")
	f.Add("time,cpu\n", "memory")
	f.Fuzz(func(t *testing.T, in, res string) {
		if len(res) > 8 {
			res = res[:8]
		}
		imp, err := Parse([]byte(in), Options{Service: "web", Node: "n1", Resource: res})
		check(t, imp, err)
	})
}

func FuzzImportPromJSON(f *testing.F) {
	f.Add(promOne, 1000.0)
	f.Add(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[1,"2"]]}]}}`, 1.0)
	f.Add(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1e300,"1e300"],[-1,"NaN"]]}]}}`, 0.0)
	f.Add(`{"status":"error","error":"x"}`, 1.0)
	f.Add(`{"data":{"result":[{"values":[[1,"1",3]]}]}}`, 1e308)
	f.Fuzz(func(t *testing.T, in string, scale float64) {
		imp, err := Parse([]byte(in), Options{Service: "web", Node: "n1", Resource: "memory", Scale: scale})
		check(t, imp, err)
	})
}

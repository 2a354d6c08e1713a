package usage

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

func write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reading is the content of every file at one instant.
type tree map[string]string

func TestParsers(t *testing.T) {
	cases := []struct {
		name  string
		parse func([]byte) (uint64, error)
		in    string
		want  uint64
		err   string
	}{
		{"single", parseSingle, "12345\n", 12345, ""},
		{"single garbage", parseSingle, "12 34", 0, "one unsigned integer"},
		{"single negative", parseSingle, "-1", 0, "one unsigned integer"},
		{"cpu.stat", func(b []byte) (uint64, error) { return parseKeyed(b, "usage_usec") },
			"usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n", 2500000, ""},
		{"cpu.stat without usage", func(b []byte) (uint64, error) { return parseKeyed(b, "usage_usec") }, "user_usec 5\n", 0, "no usage_usec"},
		{"cpu.stat bad value", func(b []byte) (uint64, error) { return parseKeyed(b, "usage_usec") }, "usage_usec x\n", 0, "line 1"},
		{"io.stat two devices", parseIOStat,
			"8:0 rbytes=1000 wbytes=2000 rios=3 wios=4 dbytes=99 dios=1\n259:0 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n", 3030, ""},
		{"io.stat empty", parseIOStat, "", 0, ""},
		{"io.stat bad device", parseIOStat, "sda rbytes=1\n", 0, "MAJ:MIN"},
		{"io.stat bad pair", parseIOStat, "8:0 rbytes\n", 0, "key=value"},
		{"io.stat overflow", parseIOStat, "8:0 rbytes=18446744073709551615 wbytes=1\n", 0, "overflow"},
		{"blkio", parseBlkio,
			"8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 8192\n8:0 Async 4096\n8:0 Discard 0\n8:0 Total 12288\n8:16 Read 1\n8:16 Write 1\nTotal 12290\n", 12290, ""},
		{"blkio only Total", parseBlkio, "Total 0\n", 0, ""},
		{"blkio bad line", parseBlkio, "8:0 Read\n", 0, "MAJ:MIN Op bytes"},
		{"blkio bad number", parseBlkio, "8:0 Read x\n", 0, "not an unsigned integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestReadFakeTrees reads v1 and v2 trees at two instants 10 s apart and
// checks each resource's rate or value, including counters that went
// backwards (no rate, never negative) and absent optional files.
func TestReadFakeTrees(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(10 * time.Second)
	const (
		v1CPU = "cpuacct/allot/web/cpuacct.usage"
		v1Mem = "memory/allot/web/memory.usage_in_bytes"
		v1IO  = "blkio/allot/web/blkio.throttle.io_service_bytes"
		v2CPU = "unified/allot/web/cpu.stat"
		v2Mem = "unified/allot/web/memory.current"
		v2IO  = "unified/allot/web/io.stat"
		tx    = "net/veth0/statistics/tx_bytes"
	)
	cases := []struct {
		name   string
		v2     bool
		iface  string
		before tree
		after  tree
		want   map[bidding.Resource]float64 // resources measured (others must not be)
		err    string
	}{
		{name: "v1 all", iface: "veth0",
			before: tree{v1CPU: "1000000000", v1Mem: "100", v1IO: "8:0 Read 0\n8:0 Write 0\nTotal 0\n", tx: "0"},
			after:  tree{v1CPU: "6000000000", v1Mem: "4096", v1IO: "8:0 Read 1000\n8:0 Write 9000\nTotal 10000\n", tx: "1250"},
			// 5 s of cpu in 10 s = 500 millicores; 10000 B in 10 s; 1250 B ×8 / 10 s.
			want: map[bidding.Resource]float64{bidding.CPU: 500, bidding.Memory: 4096, bidding.IO: 1000, bidding.Net: 1000}},
		{name: "v2 all",
			v2:     true,
			before: tree{v2CPU: "usage_usec 0\nuser_usec 0\n", v2Mem: "1", v2IO: "8:0 rbytes=0 wbytes=0\n"},
			after:  tree{v2CPU: "usage_usec 20000000\nuser_usec 0\n", v2Mem: "2048", v2IO: "8:0 rbytes=50 wbytes=50\n"},
			want:   map[bidding.Resource]float64{bidding.CPU: 2000, bidding.Memory: 2048, bidding.IO: 10}},
		{name: "v2 without io.stat", v2: true,
			before: tree{v2CPU: "usage_usec 0\n", v2Mem: "1"},
			after:  tree{v2CPU: "usage_usec 1000000\n", v2Mem: "1"},
			want:   map[bidding.Resource]float64{bidding.CPU: 100, bidding.Memory: 1}},
		{name: "v1 counters reset (cgroup recreated)", iface: "veth0",
			before: tree{v1CPU: "9000000000", v1Mem: "5", v1IO: "8:0 Read 500\n", tx: "100"},
			after:  tree{v1CPU: "10", v1Mem: "5", v1IO: "8:0 Read 10\n", tx: "0"},
			want:   map[bidding.Resource]float64{bidding.Memory: 5}},
		{name: "v2 counter wrapped", v2: true,
			before: tree{v2CPU: "usage_usec 18446744073709551615\n", v2Mem: "7"},
			after:  tree{v2CPU: "usage_usec 3\n", v2Mem: "7"},
			want:   map[bidding.Resource]float64{bidding.Memory: 7}},
		{name: "v1 memory file missing", iface: "",
			before: tree{v1CPU: "0", v1IO: "Total 0\n"},
			after:  tree{v1CPU: "100000000", v1IO: "Total 0\n"},
			want:   map[bidding.Resource]float64{bidding.CPU: 10, bidding.IO: 0},
			err:    "memory.usage_in_bytes"},
		{name: "v2 garbage in cpu.stat", v2: true,
			before: tree{v2CPU: "usage_usec 0\n", v2Mem: "1"},
			after:  tree{v2CPU: "usage_usec lots\n", v2Mem: "1"},
			want:   map[bidding.Resource]float64{bidding.Memory: 1},
			err:    "cpu.stat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := Config{Parent: "/allot", NetRoot: filepath.Join(root, "net"),
				V1: V1{CPUAcct: filepath.Join(root, "cpuacct"), Memory: filepath.Join(root, "memory"), Blkio: filepath.Join(root, "blkio")}}
			if tc.v2 {
				cfg = Config{Parent: "/allot", NetRoot: filepath.Join(root, "net"), V2: filepath.Join(root, "unified")}
			}
			r := New(cfg)
			target := cgroups.Target{Interface: tc.iface}
			for f, c := range tc.before {
				write(t, filepath.Join(root, f), c)
			}
			u, _ := r.Read("web", target, t0)
			for _, res := range []bidding.Resource{bidding.CPU, bidding.IO, bidding.Net} {
				if u.Have[res] {
					t.Fatalf("first read has a %s rate: %v", res, u.Value[res])
				}
			}
			for f := range tc.before {
				if _, ok := tc.after[f]; !ok {
					os.Remove(filepath.Join(root, f))
				}
			}
			for f, c := range tc.after {
				write(t, filepath.Join(root, f), c)
			}
			u, err := r.Read("web", target, t1)
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want one naming %q", err, tc.err)
			}
			for _, res := range bidding.Resources() {
				w, ok := tc.want[res]
				if u.Have[res] != ok {
					t.Fatalf("%s measured %v, want %v (value %v)", res, u.Have[res], ok, u.Value[res])
				}
				if ok && math.Abs(u.Value[res]-w) > 1e-9*math.Max(1, w) {
					t.Fatalf("%s = %v, want %v", res, u.Value[res], w)
				}
				if u.Value[res] < 0 {
					t.Fatalf("%s negative: %v", res, u.Value[res])
				}
			}
		})
	}
}

// TestResetRestartsInterval: after a counter went backwards, the next
// reading gives the rate from the reset value, not from before it.
func TestResetRestartsInterval(t *testing.T) {
	root := t.TempDir()
	r := New(Config{Parent: "p", V2: root})
	f := filepath.Join(root, "p", "svc", "cpu.stat")
	write(t, filepath.Join(root, "p", "svc", "memory.current"), "1")
	t0 := time.Unix(1000, 0)
	for i, step := range []struct {
		usec string
		have bool
		want float64
	}{{"5000000", false, 0}, {"1000000", false, 0}, {"2000000", true, 100}, {"2000000", true, 0}} {
		write(t, f, "usage_usec "+step.usec+"\n")
		u, err := r.Read("svc", cgroups.Target{}, t0.Add(time.Duration(i)*10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if u.Have[bidding.CPU] != step.have || u.Value[bidding.CPU] != step.want {
			t.Fatalf("step %d: cpu %v (have %v), want %v (have %v)", i, u.Value[bidding.CPU], u.Have[bidding.CPU], step.want, step.have)
		}
	}
	// The same instant again is no interval at all.
	if u, _ := r.Read("svc", cgroups.Target{}, t0.Add(30*time.Second)); u.Have[bidding.CPU] {
		t.Fatal("a zero-length interval gave a rate")
	}
}

func TestReadRefusesDotDot(t *testing.T) {
	r := New(Config{Parent: "/allot", V2: t.TempDir()})
	if _, err := r.Read("web", cgroups.Target{Cgroup: "../etc"}, time.Now()); err == nil || !strings.Contains(err.Error(), "..") {
		t.Fatalf("error %v, want the .. refusal", err)
	}
}

func TestDetect(t *testing.T) {
	root := t.TempDir()
	mi := filepath.Join(root, "mountinfo")
	for _, d := range []string{"cpu", "cpuacct", "memory", "blkio", "unified"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "unified", "cgroup.controllers"), "")
	write(t, mi, strings.Join([]string{
		"31 30 0:28 / " + root + "/cpu rw,relatime - cgroup cgroup rw,cpu",
		"32 30 0:29 / " + root + "/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
		"34 30 0:31 / " + root + "/memory rw,relatime - cgroup cgroup rw,memory",
		"37 30 0:34 / " + root + "/blkio rw,relatime - cgroup cgroup rw,blkio",
		"40 30 0:37 / " + root + "/unified rw,relatime - cgroup2 cgroup2 rw",
	}, "\n")+"\n")
	cfg, err := Detect("auto", mi)
	if err != nil {
		t.Fatal(err)
	}
	want := V1{CPU: root + "/cpu", CPUAcct: root + "/cpuacct", Memory: root + "/memory", Blkio: root + "/blkio"}
	if cfg.V2 != "" || cfg.V1 != want {
		t.Fatalf("got %+v, want v1 %+v (the unified mount offers no controllers)", cfg, want)
	}
	if _, err := Detect("cgroup-v2", mi); err == nil {
		t.Fatal("cgroup-v2 detected on a host without a usable unified hierarchy")
	}
}

func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		"8:0 rbytes=1000 wbytes=2000 rios=3 wios=4 dbytes=99 dios=1\n",
		"8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
		"usage_usec 2500000\nuser_usec 2000000\n",
		"", "\n\n", "8:0", "Total x", "usage_usec 18446744073709551616",
		"nr_periods 100\nnr_throttled 60\nthrottled_time 5000000000\n",
		"usage_usec 1\nnr_periods 7\nnr_throttled 3\nthrottled_usec 2500\n",
		"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
		"low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\n",
		"some avg10=1.50 avg60=0.20 avg300=0.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"20000 100000\n", "max 100000", "max", "-1", "9223372036854771712",
		"101\n102\n", "4964767 6023642 4\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never a panic; a successful whole-file parse is the sum of its lines.
		for _, p := range []func([]byte) (uint64, error){parseIOStat, parseBlkio} {
			sum, err := p(b)
			if err != nil {
				continue
			}
			var bySum uint64
			for _, line := range strings.Split(string(b), "\n") {
				v, err := p([]byte(line))
				if err != nil {
					t.Fatalf("whole file parsed but line %q fails: %v", line, err)
				}
				bySum += v
			}
			if bySum != sum {
				t.Fatalf("sum %d, by lines %d", sum, bySum)
			}
		}
		_, _ = parseKeyed(b, "usage_usec")
		_, _ = parseSingle(b)
		// Flat keyed files: a file that parses has every line parse alone,
		// and what the extractors return is the value of their line.
		if m, err := parseFlat(b); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if _, err := parseFlat([]byte(line)); err != nil {
					t.Fatalf("whole file parsed but line %q fails: %v", line, err)
				}
			}
			if s, err := parseCPUStat(b); err == nil && s.ok && s.periods != m["nr_periods"] {
				t.Fatalf("cpu.stat periods %d, line says %d", s.periods, m["nr_periods"])
			}
			if k, ok, err := parseOOMControl(b); err != nil || ok != hasKey(m, "oom_kill") || k != m["oom_kill"] {
				t.Fatalf("oom_control %d %v %v from %v", k, ok, err, m)
			}
			if e, err := parseMemoryEvents(b); err == nil && (e.high != m["high"] || e.max != m["max"]) {
				t.Fatalf("memory.events %+v from %v", e, m)
			}
		} else if _, err := parseCPUStat(b); err == nil {
			t.Fatal("cpu.stat parsed a file that is not flat keyed")
		}
		if _, err := parsePSI(b); err == nil && !strings.Contains(string(b), "some") {
			t.Fatalf("psi parsed without a some line: %q", b)
		}
		if v, err := parseCPUMax(b); err == nil && v < 0 {
			t.Fatalf("cpu.max %d < 0", v)
		}
		if v, err := parseMemoryMax(b); err == nil && (v < 0 || v >= v1Unlimited) {
			t.Fatalf("memory limit %d out of range", v)
		}
		_, _ = parseSigned(b)
		if ids, err := parseTIDs(b); err == nil {
			for _, id := range ids {
				if id <= 0 {
					t.Fatalf("task id %d from %q", id, b)
				}
			}
		}
		_, _ = parseSchedstat(b)
	})
}

func hasKey(m map[string]uint64, k string) bool {
	_, ok := m[k]
	return ok
}

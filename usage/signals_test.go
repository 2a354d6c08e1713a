package usage

import (
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

func TestSignalParsers(t *testing.T) {
	cases := []struct {
		name  string
		parse func([]byte) (any, error)
		in    string
		want  any
		err   string
	}{
		{"v1 cpu.stat", cpuStatAny, "nr_periods 100\nnr_throttled 60\nthrottled_time 5000000000\n", cpuStat{100, 60, 5e9, true}, ""},
		{"v1 cpu.stat newer kernel", cpuStatAny, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n", cpuStat{1, 0, 0, true}, ""},
		{"v2 cpu.stat", cpuStatAny, "usage_usec 10\nuser_usec 5\nsystem_usec 5\nnr_periods 7\nnr_throttled 3\nthrottled_usec 2500\n", cpuStat{7, 3, 2500000, true}, ""},
		{"v2 cpu.stat without the cpu controller", cpuStatAny, "usage_usec 10\nuser_usec 5\nsystem_usec 5\n", cpuStat{}, ""},
		{"cpu.stat garbled", cpuStatAny, "nr_periods 1\nnr_throttled\n", nil, "line 2"},
		{"cpu.stat negative", cpuStatAny, "nr_periods -1\n", nil, "line 1"},
		{"cpu.stat twice", cpuStatAny, "nr_periods 1\nnr_periods 2\n", nil, "twice"},
		{"cpu.stat usec overflow", cpuStatAny, "nr_periods 1\nnr_throttled 1\nthrottled_usec 18446744073709552\n", nil, "overflow"},
		{"oom_control", oomAny, "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", [2]uint64{3, 1}, ""},
		{"oom_control before 4.13", oomAny, "oom_kill_disable 0\nunder_oom 0\n", [2]uint64{0, 0}, ""},
		{"oom_control garbled", oomAny, "oom_kill_disable 0\noom_kill x\n", nil, "line 2"},
		{"memory.events", eventsAny, "low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n", memEvents{12, 3, 1, true}, ""},
		{"memory.events old kernel", eventsAny, "low 0\nhigh 1\nmax 2\noom 0\n", memEvents{1, 2, 0, false}, ""},
		{"memory.events without max", eventsAny, "low 0\nhigh 1\n", nil, "no high or no max"},
		{"memory.events garbled", eventsAny, "low 0\nhigh 1 2\n", nil, "line 2"},
		{"psi cpu", psiAny, "some avg10=1.50 avg60=0.20 avg300=0.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", uint64(123456), ""},
		{"psi only some", psiAny, "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", uint64(7), ""},
		{"psi without some", psiAny, "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", nil, "no some line"},
		{"psi without total", psiAny, "some avg10=0.00 avg60=0.00 avg300=0.00\n", nil, "no total"},
		{"psi bad avg", psiAny, "some avg10=x avg60=0.00 avg300=0.00 total=1\n", nil, "avg10"},
		{"psi bad kind", psiAny, "most avg10=0.00 total=1\n", nil, "line 1"},
		{"psi two some", psiAny, "some total=1\nsome total=2\n", nil, "second some"},
		{"cpu.max limit", cpuMaxAny, "20000 100000\n", int64(200), ""},
		{"cpu.max none", cpuMaxAny, "max 100000\n", int64(0), ""},
		{"cpu.max tiny", cpuMaxAny, "1 100000\n", int64(1), ""},
		{"cpu.max garbled", cpuMaxAny, "max\n", nil, "QUOTA PERIOD"},
		{"cpu.max zero period", cpuMaxAny, "1000 0\n", nil, "period"},
		{"memory.max", memMaxAny, "268435456\n", int64(268435456), ""},
		{"memory.max none", memMaxAny, "max\n", int64(0), ""},
		{"v1 limit_in_bytes unlimited", memMaxAny, "9223372036854771712\n", int64(0), ""},
		{"memory.max garbled", memMaxAny, "lots\n", nil, "max or one unsigned integer"},
		{"cfs_quota_us none", signedAny, "-1\n", int64(-1), ""},
		{"cfs_quota_us garbled", signedAny, "1.5\n", nil, "one integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, error %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func cpuStatAny(b []byte) (any, error) {
	s, err := parseCPUStat(b)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func oomAny(b []byte) (any, error) {
	v, ok, err := parseOOMControl(b)
	if err != nil {
		return nil, err
	}
	has := uint64(0)
	if ok {
		has = 1
	}
	return [2]uint64{v, has}, nil
}

func eventsAny(b []byte) (any, error) {
	e, err := parseMemoryEvents(b)
	if err != nil {
		return nil, err
	}
	return e, nil
}

func psiAny(b []byte) (any, error) {
	v, err := parsePSI(b)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func cpuMaxAny(b []byte) (any, error) {
	v, err := parseCPUMax(b)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func memMaxAny(b []byte) (any, error) {
	v, err := parseMemoryMax(b)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func signedAny(b []byte) (any, error) {
	v, err := parseSigned(b)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// TestSignalsFakeTrees reads each layout at two instants 10 s apart: cpu
// time, throttling, limits, memory events, OOM kills and pressure.
func TestSignalsFakeTrees(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(10 * time.Second)
	const rel = "docker/abc" // an explicit cgroup, as ReadCgroup gets it
	v1Before := func(cpu, acct string) tree {
		return tree{
			acct + "/docker/abc/cpuacct.usage":                 "1000000000",
			cpu + "/docker/abc/cpu.stat":                       "nr_periods 100\nnr_throttled 10\nthrottled_time 1000000000\n",
			cpu + "/docker/abc/cpu.cfs_quota_us":               "20000",
			cpu + "/docker/abc/cpu.cfs_period_us":              "100000",
			"memory/docker/abc/memory.usage_in_bytes":          "100",
			"memory/docker/abc/memory.limit_in_bytes":          "9223372036854771712",
			"memory/docker/abc/memory.failcnt":                 "5",
			"memory/docker/abc/memory.oom_control":             "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
			"blkio/docker/abc/blkio.throttle.io_service_bytes": "Total 0\n",
		}
	}
	v1After := func(cpu, acct string) tree {
		return tree{
			// 2 s of cpu in 10 s: 200 millicores.
			acct + "/docker/abc/cpuacct.usage": "3000000000",
			// 100 more periods, 80 throttled, 8 s throttled in 10 s: 800 millicores.
			cpu + "/docker/abc/cpu.stat":                       "nr_periods 200\nnr_throttled 90\nthrottled_time 9000000000\n",
			cpu + "/docker/abc/cpu.cfs_quota_us":               "20000",
			cpu + "/docker/abc/cpu.cfs_period_us":              "100000",
			"memory/docker/abc/memory.usage_in_bytes":          "4096",
			"memory/docker/abc/memory.limit_in_bytes":          "268435456",
			"memory/docker/abc/memory.failcnt":                 "12",
			"memory/docker/abc/memory.oom_control":             "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
			"blkio/docker/abc/blkio.throttle.io_service_bytes": "Total 0\n",
		}
	}
	v1Want := Usage{Throttled: 800, ThrottledPeriods: 0.8, HaveThrottled: true, CPULimit: 200, MemoryLimit: 268435456,
		MemFailcnt: 7, HaveMemEvents: true, OOMKills: 2, HaveOOMKills: true}
	v1Want.Value[bidding.CPU], v1Want.Have[bidding.CPU] = 200, true
	v1Want.Value[bidding.Memory], v1Want.Have[bidding.Memory] = 4096, true
	v1Want.Value[bidding.IO], v1Want.Have[bidding.IO] = 0, true

	v2Want := Usage{Throttled: 500, ThrottledPeriods: 0.25, HaveThrottled: true, CPULimit: 1500, MemoryLimit: 0,
		MemHighEvents: 9, HaveMemEvents: true, OOMKills: 1, HaveOOMKills: true,
		CPUPressure: 300000, MemoryPressure: 1000, HavePressure: true}
	v2Want.Value[bidding.CPU], v2Want.Have[bidding.CPU] = 2000, true
	v2Want.Value[bidding.Memory], v2Want.Have[bidding.Memory] = 2048, true

	cases := []struct {
		name          string
		cfg           func(root string) Config
		before, after tree
		want          Usage
	}{{
		name:   "v1 cpu and cpuacct separate",
		cfg:    func(root string) Config { return v1Config(root, "cpu", "cpuacct") },
		before: v1Before("cpu", "cpuacct"), after: v1After("cpu", "cpuacct"), want: v1Want,
	}, {
		name:   "v1 cpu,cpuacct co-mounted",
		cfg:    func(root string) Config { return v1Config(root, "cpu,cpuacct", "cpu,cpuacct") },
		before: v1Before("cpu,cpuacct", "cpu,cpuacct"), after: v1After("cpu,cpuacct", "cpu,cpuacct"), want: v1Want,
	}, {
		name: "v2",
		cfg:  func(root string) Config { return Config{V2: filepath.Join(root, "unified")} },
		before: tree{
			"unified/docker/abc/cpu.stat":        "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 1000\nnr_throttled 0\nthrottled_usec 0\n",
			"unified/docker/abc/cpu.max":         "150000 100000\n",
			"unified/docker/abc/memory.current":  "1",
			"unified/docker/abc/memory.max":      "max\n",
			"unified/docker/abc/memory.events":   "low 0\nhigh 1\nmax 0\noom 0\noom_kill 0\n",
			"unified/docker/abc/cpu.pressure":    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
			"unified/docker/abc/memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		},
		after: tree{
			"unified/docker/abc/cpu.stat":        "usage_usec 20000000\nuser_usec 0\nsystem_usec 0\nnr_periods 1100\nnr_throttled 25\nthrottled_usec 5000000\n",
			"unified/docker/abc/cpu.max":         "150000 100000\n",
			"unified/docker/abc/memory.current":  "2048",
			"unified/docker/abc/memory.max":      "max\n",
			"unified/docker/abc/memory.events":   "low 0\nhigh 8\nmax 2\noom 1\noom_kill 1\n",
			"unified/docker/abc/cpu.pressure":    "some avg10=30.00 avg60=0.00 avg300=0.00 total=3000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
			"unified/docker/abc/memory.pressure": "some avg10=0.10 avg60=0.00 avg300=0.00 total=10000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		},
		want: v2Want,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			r := New(tc.cfg(root))
			for f, c := range tc.before {
				write(t, filepath.Join(root, f), c)
			}
			u, err := r.ReadCgroup("abc", rel, "", t0)
			if err != nil {
				t.Fatal(err)
			}
			if u.HaveThrottled || u.HaveMemEvents || u.HaveOOMKills || u.HavePressure || u.Have[bidding.CPU] {
				t.Fatalf("the first reading has interval values: %+v", u)
			}
			for f, c := range tc.after {
				write(t, filepath.Join(root, f), c)
			}
			u, err = r.ReadCgroup("abc", "/"+rel+"/", "", t1)
			if err != nil {
				t.Fatal(err)
			}
			if !usageClose(u, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", u, tc.want)
			}
			if d := u.CPUDemand(); math.Abs(d-(tc.want.Value[bidding.CPU]+tc.want.Throttled)) > 1e-6 {
				t.Fatalf("CPUDemand %v", d)
			}
		})
	}
}

func v1Config(root, cpu, acct string) Config {
	return Config{V1: V1{CPU: filepath.Join(root, cpu), CPUAcct: filepath.Join(root, acct),
		Memory: filepath.Join(root, "memory"), Blkio: filepath.Join(root, "blkio")}}
}

// usageClose compares two Usages, floats to a relative 1e-9.
func usageClose(a, b Usage) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	for i := range a.Value {
		if a.Have[i] != b.Have[i] || !eq(a.Value[i], b.Value[i]) {
			return false
		}
	}
	fa, fb := a, b
	fa.Value, fb.Value = [bidding.NumResources]float64{}, [bidding.NumResources]float64{}
	for _, p := range [][2]*float64{{&fa.Throttled, &fb.Throttled}, {&fa.ThrottledPeriods, &fb.ThrottledPeriods}, {&fa.CPUPressure, &fb.CPUPressure}, {&fa.MemoryPressure, &fb.MemoryPressure}} {
		if !eq(*p[0], *p[1]) {
			return false
		}
		*p[0], *p[1] = 0, 0
	}
	return fa == fb
}

// TestSignalsMissingAndGarbled: absent signal files are not errors (an old
// kernel, PSI off); a garbled one is, naming the file and the line; a
// counter that goes backwards restarts only its own interval.
func TestSignalsMissingAndGarbled(t *testing.T) {
	root := t.TempDir()
	t0 := time.Unix(1000, 0)
	dir := filepath.Join(root, "unified", "allot", "web")
	write(t, filepath.Join(dir, "cpu.stat"), "usage_usec 0\n")
	write(t, filepath.Join(dir, "memory.current"), "1")
	r := New(Config{V2: filepath.Join(root, "unified"), Parent: "/allot"})
	for i := 0; i < 2; i++ {
		u, err := r.Read("web", cgroups.Target{}, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatalf("missing signal files: %v", err)
		}
		if u.HaveThrottled || u.HaveMemEvents || u.HavePressure || u.CPULimit != 0 || u.MemoryLimit != 0 {
			t.Fatalf("signals measured without their files: %+v", u)
		}
	}
	write(t, filepath.Join(dir, "memory.events"), "low 0\nhigh x\n")
	write(t, filepath.Join(dir, "cpu.pressure"), "some avg10=0.00 total=5\n")
	_, err := r.Read("web", cgroups.Target{}, t0.Add(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "memory.events: line 2") {
		t.Fatalf("error %v, want one naming memory.events and its line 2", err)
	}

	// Throttling counters reset (cgroup recreated): no throttling that
	// time, then a value from the reset readings.
	cpu := func(periods, throttled, usec int) string {
		return "usage_usec 0\nnr_periods " + strconv.Itoa(periods) + "\nnr_throttled " + strconv.Itoa(throttled) + "\nthrottled_usec " + strconv.Itoa(usec) + "\n"
	}
	write(t, filepath.Join(dir, "memory.events"), "low 0\nhigh 0\nmax 0\n")
	steps := []struct {
		stat string
		have bool
		thr  float64
	}{{cpu(100, 50, 1000000), false, 0}, {cpu(10, 5, 100000), false, 0}, {cpu(20, 10, 600000), true, 500}}
	for i, s := range steps {
		write(t, filepath.Join(dir, "cpu.stat"), s.stat)
		u, err := r.Read("web", cgroups.Target{}, t0.Add(time.Duration(10+i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if u.HaveThrottled != s.have || math.Abs(u.Throttled-s.thr) > 1e-9 || (s.have && u.ThrottledPeriods != 0.5) {
			t.Fatalf("step %d: %+v, want throttled %v (have %v)", i, u, s.thr, s.have)
		}
	}
	r.Forget("web")
	if u, _ := r.Read("web", cgroups.Target{}, t0.Add(time.Minute)); u.HaveThrottled || u.HaveMemEvents {
		t.Fatalf("Forget kept readings: %+v", u)
	}
}

func TestReadCgroupRefusesDotDot(t *testing.T) {
	r := New(Config{V2: t.TempDir()})
	if _, err := r.ReadCgroup("x", "docker/../../etc", "", time.Now()); err == nil || !strings.Contains(err.Error(), "..") {
		t.Fatalf("error %v, want the .. refusal", err)
	}
}

func TestSum(t *testing.T) {
	a := Usage{Throttled: 100, ThrottledPeriods: 0.2, HaveThrottled: true, CPULimit: 500, MemoryLimit: 1 << 20,
		MemFailcnt: 1, HaveMemEvents: true, OOMKills: 1, HaveOOMKills: true, CPUPressure: 10, HavePressure: true}
	a.Value[bidding.CPU], a.Have[bidding.CPU] = 300, true
	a.Value[bidding.Memory], a.Have[bidding.Memory] = 1000, true
	b := Usage{Throttled: 50, ThrottledPeriods: 0.6, HaveThrottled: true, CPULimit: 250, MemoryLimit: 0, MemHighEvents: 4, MemoryPressure: 7}
	b.Value[bidding.CPU], b.Have[bidding.CPU] = 200, true
	b.Value[bidding.Net], b.Have[bidding.Net] = 8, true
	c := Usage{} // a replica measured for the first time
	got := Sum(a, b, c)
	want := Usage{Throttled: 150, ThrottledPeriods: 0.4, HaveThrottled: true, CPULimit: 0, MemoryLimit: 0,
		MemFailcnt: 1, MemHighEvents: 4, HaveMemEvents: true, OOMKills: 1, HaveOOMKills: true, CPUPressure: 10, MemoryPressure: 7, HavePressure: true}
	want.Value[bidding.CPU], want.Have[bidding.CPU] = 500, true
	want.Value[bidding.Memory], want.Have[bidding.Memory] = 1000, true
	want.Value[bidding.Net], want.Have[bidding.Net] = 8, true
	if !usageClose(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if s := Sum(a, a); s.CPULimit != 1000 || s.MemoryLimit != 2<<20 || s.ThrottledPeriods != 0.2 {
		t.Fatalf("limits add when every replica has one: %+v", s)
	}
	if s := Sum(); !usageClose(s, Usage{}) {
		t.Fatalf("Sum() = %+v", s)
	}
}

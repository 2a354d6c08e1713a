package usage

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The parsers below read the kernel's cgroup and sysfs files. They accept
// what the kernel writes and refuse everything else with an error naming the
// line; they never panic (FuzzParsers) and never return a partial sum that
// looks like a valid one.

// errOverflow: a sum of counters that does not fit in 64 bits is garbage,
// not a measurement.
var errOverflow = errors.New("sum overflows 64 bits")

func addU64(a, b uint64) (uint64, error) {
	if a > math.MaxUint64-b {
		return 0, errOverflow
	}
	return a + b, nil
}

// parseSingle reads a file holding one unsigned integer (cpuacct.usage,
// memory.usage_in_bytes, memory.current, statistics/tx_bytes).
func parseSingle(b []byte) (uint64, error) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one unsigned integer, got %q", clip(s))
	}
	return v, nil
}

// parseKeyed reads a flat keyed file ("key value" per line, as cgroup v2's
// cpu.stat) and returns key's value; a missing key is an error.
func parseKeyed(b []byte, key string) (uint64, error) {
	m, err := parseFlat(b)
	if err != nil {
		return 0, err
	}
	v, ok := m[key]
	if !ok {
		return 0, fmt.Errorf("no %s line", key)
	}
	return v, nil
}

// parseFlat reads a flat keyed file: "key value" per line with an unsigned
// value, every key once (cpu.stat of both versions, v1 memory.oom_control,
// v2 memory.events).
func parseFlat(b []byte) (map[string]uint64, error) {
	m := map[string]uint64{}
	for i, line := range lines(b) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d %q: want \"key value\"", i+1, clip(line))
		}
		if _, dup := m[f[0]]; dup {
			return nil, fmt.Errorf("line %d: %s appears twice", i+1, clip(f[0]))
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s %q is not an unsigned integer", i+1, clip(f[0]), clip(f[1]))
		}
		m[f[0]] = v
	}
	return m, nil
}

// cpuStat is the CFS bandwidth part of a cpu.stat: periods elapsed with a
// quota in force, periods in which the cgroup was throttled, and the time
// its runqueues spent throttled (summed over CPUs), in ns.
type cpuStat struct {
	periods, throttled, throttledNs uint64
	ok                              bool // the file has them (v2 only with the cpu controller on)
}

// parseCPUStat reads v1 cpu.stat (nr_periods, nr_throttled, throttled_time
// in ns) or v2 cpu.stat (… throttled_usec in µs). Other lines are checked
// and skipped; a file without the three counters is not an error (v2
// writes only usage_usec, user_usec and system_usec when the cpu controller
// is not enabled), ok then is false.
func parseCPUStat(b []byte) (cpuStat, error) {
	m, err := parseFlat(b)
	if err != nil {
		return cpuStat{}, err
	}
	var s cpuStat
	var okP, okT, okNs bool
	s.periods, okP = m["nr_periods"]
	s.throttled, okT = m["nr_throttled"]
	if ns, ok := m["throttled_time"]; ok {
		s.throttledNs, okNs = ns, true
	} else if us, ok := m["throttled_usec"]; ok {
		if us > math.MaxUint64/1000 {
			return cpuStat{}, fmt.Errorf("throttled_usec %d: %w", us, errOverflow)
		}
		s.throttledNs, okNs = us*1000, true
	}
	s.ok = okP && okT && okNs
	return s, nil
}

// parseOOMControl reads the oom_kill count of a v1 memory.oom_control
// ("oom_kill_disable 0", "under_oom 0", "oom_kill N"); kernels before 4.13
// write no oom_kill line: ok is then false.
func parseOOMControl(b []byte) (kills uint64, ok bool, err error) {
	m, err := parseFlat(b)
	if err != nil {
		return 0, false, err
	}
	kills, ok = m["oom_kill"]
	return kills, ok, nil
}

// memEvents are the counters of a v2 memory.events used here: times the
// cgroup went over memory.high (throttled and reclaimed) and hit
// memory.max, and processes the OOM killer killed in it.
type memEvents struct {
	high, max, oomKill uint64
	hasOOMKill         bool
}

// parseMemoryEvents reads a v2 memory.events ("low N", "high N", "max N",
// "oom N", "oom_kill N", …). high and max are always there; oom_kill is
// missing on old kernels.
func parseMemoryEvents(b []byte) (memEvents, error) {
	m, err := parseFlat(b)
	if err != nil {
		return memEvents{}, err
	}
	var e memEvents
	var okH, okM bool
	e.high, okH = m["high"]
	e.max, okM = m["max"]
	if !okH || !okM {
		return memEvents{}, errors.New("no high or no max line")
	}
	e.oomKill, e.hasOOMKill = m["oom_kill"]
	return e, nil
}

// parsePSI reads a pressure file (cpu.pressure, memory.pressure):
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=12345
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=6789
//
// and returns the "some" total: µs during which at least one task of the
// cgroup stalled on the resource. "full" is checked and not used (cpu
// writes it since 5.13, always zero at the cgroup level before that).
func parsePSI(b []byte) (uint64, error) {
	var some uint64
	var haveSome bool
	for i, line := range lines(b) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] != "some" && f[0] != "full" {
			return 0, fmt.Errorf("line %d %q: want \"some|full avg10=… total=…\"", i+1, clip(line))
		}
		var total uint64
		var haveTotal bool
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return 0, fmt.Errorf("line %d: %q is not key=value", i+1, clip(kv))
			}
			switch k {
			case "total":
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("line %d: total %q is not an unsigned integer", i+1, clip(v))
				}
				total, haveTotal = n, true
			case "avg10", "avg60", "avg300":
				if x, err := strconv.ParseFloat(v, 64); err != nil || x < 0 || x > 100 {
					return 0, fmt.Errorf("line %d: %s %q is not a percentage", i+1, k, clip(v))
				}
			}
		}
		if !haveTotal {
			return 0, fmt.Errorf("line %d %q: no total", i+1, clip(line))
		}
		if f[0] == "some" {
			if haveSome {
				return 0, fmt.Errorf("line %d: a second some line", i+1)
			}
			some, haveSome = total, true
		}
	}
	if !haveSome {
		return 0, errors.New("no some line")
	}
	return some, nil
}

// parseCPUMax reads a v2 cpu.max ("max 100000" or "QUOTA PERIOD", µs) as
// millicores: 0 is no limit.
func parseCPUMax(b []byte) (int64, error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, fmt.Errorf("want \"QUOTA PERIOD\", got %q", clip(strings.TrimSpace(string(b))))
	}
	period, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || period <= 0 {
		return 0, fmt.Errorf("period %q is not a positive integer", clip(f[1]))
	}
	if f[0] == "max" {
		return 0, nil
	}
	quota, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || quota <= 0 {
		return 0, fmt.Errorf("quota %q is neither max nor a positive integer", clip(f[0]))
	}
	return millicores(quota, period)
}

// millicores is a CFS quota per period (µs, both positive) as millicores,
// at least 1 so that a tiny limit does not read as none.
func millicores(quota, period int64) (int64, error) {
	if quota > math.MaxInt64/1000 {
		return 0, fmt.Errorf("quota %d: %w", quota, errOverflow)
	}
	return max(quota*1000/period, 1), nil
}

// parseSigned reads a file holding one signed integer (v1 cpu.cfs_quota_us,
// -1 when there is no quota).
func parseSigned(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one integer, got %q", clip(s))
	}
	return v, nil
}

// v1Unlimited: v1 writes "no memory limit" as the largest page count times
// the page size (9223372036854771712 with 4 KiB pages; other page sizes
// round differently). Anything from 2^62 bytes up is read as no limit.
const v1Unlimited = 1 << 62

// parseMemoryMax reads a v2 memory.max ("max" or bytes) or a v1
// memory.limit_in_bytes (bytes, huge for none) as bytes, 0 for no limit.
func parseMemoryMax(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want max or one unsigned integer, got %q", clip(s))
	}
	if v >= v1Unlimited {
		return 0, nil
	}
	return int64(v), nil
}

// parseIOStat sums rbytes and wbytes over every device of a cgroup v2
// io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N").
// Other keys are skipped (the kernel adds some with options enabled).
func parseIOStat(b []byte) (uint64, error) {
	var sum uint64
	for i, line := range lines(b) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !isDevice(f[0]) {
			return 0, fmt.Errorf("line %d %q: %q is not a MAJ:MIN device", i+1, clip(line), clip(f[0]))
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return 0, fmt.Errorf("line %d: %q is not key=value", i+1, clip(kv))
			}
			if k != "rbytes" && k != "wbytes" {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: %s %q is not an unsigned integer", i+1, k, clip(v))
			}
			if sum, err = addU64(sum, n); err != nil {
				return 0, fmt.Errorf("line %d: %w", i+1, err)
			}
		}
	}
	return sum, nil
}

// parseBlkio sums the Read and Write bytes over every device of a cgroup v1
// blkio.throttle.io_service_bytes ("MAJ:MIN Read N", "… Write N", "… Sync
// N", "… Async N", "… Discard N", "… Total N", and a last "Total N"). Only
// Read and Write are counted: Sync/Async and Total split or repeat them.
func parseBlkio(b []byte) (uint64, error) {
	var sum uint64
	for i, line := range lines(b) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case len(f) == 2 && f[0] == "Total":
			if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
				return 0, fmt.Errorf("line %d: Total %q is not an unsigned integer", i+1, clip(f[1]))
			}
			continue
		case len(f) != 3 || !isDevice(f[0]):
			return 0, fmt.Errorf("line %d %q: want \"MAJ:MIN Op bytes\"", i+1, clip(line))
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("line %d: %s %q is not an unsigned integer", i+1, f[1], clip(f[2]))
		}
		if f[1] != "Read" && f[1] != "Write" {
			continue
		}
		if sum, err = addU64(sum, n); err != nil {
			return 0, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return sum, nil
}

func lines(b []byte) []string {
	return strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
}

func isDevice(s string) bool {
	maj, min, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	_, e1 := strconv.ParseUint(maj, 10, 32)
	_, e2 := strconv.ParseUint(min, 10, 32)
	return e1 == nil && e2 == nil
}

// clip shortens what an error quotes from a file.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

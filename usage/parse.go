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
	for i, line := range lines(b) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return 0, fmt.Errorf("line %d %q: want \"key value\"", i+1, clip(line))
		}
		if f[0] != key {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("line %d: %s %q is not an unsigned integer", i+1, key, clip(f[1]))
		}
		return v, nil
	}
	return 0, fmt.Errorf("no %s line", key)
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

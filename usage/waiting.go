package usage

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// Runnable time waiting for a CPU. A cgroup held back by the kernel —
// by its CFS quota, or by other cgroups competing for the same CPUs — has
// tasks that are runnable and not running. Each task's /proc/<tid>/schedstat
// counts that (its second field, run_delay, ns: time on a runqueue waiting
// to run, throttled time included), so their sum per second is how much more
// CPU the cgroup wanted. It is what tells contention apart from idleness
// where CFS throttling says nothing (no quota, or a quota above what the
// CPUs can give it), on v1 and v2 alike.

// waitReading is one task's run_delay at a reading.
type waitReading struct {
	tids map[int]uint64
	t    time.Time
}

// waiting reads the tasks of a cgroup (tasksFile: v1 "tasks", v2
// "cgroup.threads") and sets Waiting to the sum of their run_delay growth
// per second since the last reading of this key, over the tasks present at
// both readings. Missing files (no tasks file, a kernel without schedstat)
// leave it unmeasured; a task that exited between listing and reading is
// skipped.
func (m *meter) waiting(tasksFile string) {
	b, ok := m.read(tasksFile, true)
	if !ok {
		return
	}
	tids, err := parseTIDs(b)
	if err != nil {
		m.bad(tasksFile, err)
		return
	}
	cur := waitReading{tids: make(map[int]uint64, len(tids)), t: m.now}
	for _, tid := range tids {
		sb, ok := m.read(filepath.Join(m.r.cfg.ProcRoot, strconv.Itoa(tid), "schedstat"), true)
		if !ok {
			continue
		}
		if d, err := parseSchedstat(sb); err == nil {
			cur.tids[tid] = d
		}
	}
	m.r.mu.Lock()
	prev, seen := m.r.waits[m.key]
	m.r.waits[m.key] = cur
	m.r.mu.Unlock()
	if !seen || !m.now.After(prev.t) {
		return
	}
	var sum uint64
	both := 0
	for tid, v := range cur.tids {
		if p, ok := prev.tids[tid]; ok && v >= p {
			sum += v - p
			both++
		}
	}
	if both == 0 { // every task is new, or all have exited: nothing to compare
		return
	}
	// ns waiting per second ×1e-6 = ms per second = millicores.
	m.u.Waiting, m.u.HaveWaiting = float64(sum)/m.now.Sub(prev.t).Seconds()*1e-6, true
}

// parseTIDs reads a tasks or cgroup.threads file: one positive id a line.
func parseTIDs(b []byte) ([]int, error) {
	var out []int
	for i, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		v, err := strconv.Atoi(string(line))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("line %d: %q is not a task id", i+1, clip(string(line)))
		}
		out = append(out, v)
	}
	return out, nil
}

// parseSchedstat returns run_delay (ns), the second of /proc/<tid>/schedstat's three fields.
func parseSchedstat(b []byte) (uint64, error) {
	f := bytes.Fields(b)
	if len(f) != 3 {
		return 0, fmt.Errorf("schedstat %q: want three fields", clip(string(b)))
	}
	v, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat run_delay %q: %w", clip(string(f[1])), err)
	}
	return v, nil
}

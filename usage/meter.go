package usage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// meter is one ReadCgroup: the files it reads, the Usage it fills and the
// errors it collects.
type meter struct {
	r    *Reader
	key  string
	now  time.Time
	u    Usage
	errs []error
}

// read returns a file's content. A missing optional file is no error
// (ok false); any other failure is collected, naming the file.
func (m *meter) read(file string, optional bool) ([]byte, bool) {
	read := m.r.cfg.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(file)
	if err != nil {
		if !optional || !errors.Is(err, fs.ErrNotExist) {
			m.errs = append(m.errs, fmt.Errorf("reading %s: %w", file, err))
		}
		return nil, false
	}
	return b, true
}

// bad collects a parse error naming the file.
func (m *meter) bad(file string, err error) {
	m.errs = append(m.errs, fmt.Errorf("parsing %s: %w", file, err))
}

func (m *meter) delta(name string, v uint64) (uint64, float64, bool) {
	return m.r.delta(m.key+"\x00"+name, v, m.now)
}

// counter reads a required counter file and sets res to its rate ×perSecond.
func (m *meter) counter(res bidding.Resource, file string, parse func([]byte) (uint64, error), perSecond float64) {
	m.counterFrom(res, file, false, parse, perSecond)
}

func (m *meter) counterFrom(res bidding.Resource, file string, optional bool, parse func([]byte) (uint64, error), perSecond float64) {
	b, ok := m.read(file, optional)
	if !ok {
		return
	}
	v, err := parse(b)
	if err != nil {
		m.bad(file, err)
		return
	}
	if d, secs, ok := m.delta(res.String(), v); ok {
		m.u.Value[res], m.u.Have[res] = float64(d)/secs*perSecond, true
	}
}

// gauge reads a required file holding one value.
func (m *meter) gauge(res bidding.Resource, file string) {
	b, ok := m.read(file, false)
	if !ok {
		return
	}
	v, err := parseSingle(b)
	if err != nil {
		m.bad(file, err)
		return
	}
	m.u.Value[res], m.u.Have[res] = float64(v), true
}

// v1 reads the v1 hierarchies: cpu time from cpuacct, throttling and the
// quota from cpu, memory and its events from memory, io from blkio.
func (m *meter) v1(mnt V1, rel string) {
	if d := mnt.CPUAcct; d != "" {
		// cpuacct.usage: ns of cpu per second ×1e-6 = millicores.
		m.counter(bidding.CPU, filepath.Join(d, rel, "cpuacct.usage"), parseSingle, 1e-6)
	}
	if d := mnt.CPU; d != "" {
		dir := filepath.Join(d, rel)
		m.throttling(filepath.Join(dir, "cpu.stat"))
		m.v1Quota(dir)
		m.waiting(filepath.Join(dir, "tasks"))
	} else if d := mnt.CPUAcct; d != "" {
		m.waiting(filepath.Join(d, rel, "tasks"))
	}
	if d := mnt.Memory; d != "" {
		dir := filepath.Join(d, rel)
		m.gauge(bidding.Memory, filepath.Join(dir, "memory.usage_in_bytes"))
		m.memoryLimit(filepath.Join(dir, "memory.limit_in_bytes"))
		if b, ok := m.read(filepath.Join(dir, "memory.failcnt"), true); ok {
			if v, err := parseSingle(b); err != nil {
				m.bad(filepath.Join(dir, "memory.failcnt"), err)
			} else if d, _, ok := m.delta("failcnt", v); ok {
				m.u.MemFailcnt, m.u.HaveMemEvents = d, true
			}
		}
		file := filepath.Join(dir, "memory.oom_control")
		if b, ok := m.read(file, true); ok {
			if v, has, err := parseOOMControl(b); err != nil {
				m.bad(file, err)
			} else if has {
				m.oomKills(v)
			}
		}
	}
	if d := mnt.Blkio; d != "" {
		m.counter(bidding.IO, filepath.Join(d, rel, "blkio.throttle.io_service_bytes"), parseBlkio, 1)
	}
}

// v2 reads one cgroup of the unified hierarchy.
func (m *meter) v2(dir string) {
	cpuStat := filepath.Join(dir, "cpu.stat")
	if b, ok := m.read(cpuStat, false); ok {
		// usage_usec: µs of cpu per second ×1e-3 = millicores.
		if v, err := parseKeyed(b, "usage_usec"); err != nil {
			m.bad(cpuStat, err) // one error for the file, not one per reading of it
		} else {
			if d, secs, ok := m.delta(bidding.CPU.String(), v); ok {
				m.u.Value[bidding.CPU], m.u.Have[bidding.CPU] = float64(d)/secs*1e-3, true
			}
			m.throttlingFrom(cpuStat, b)
		}
	}
	if b, ok := m.read(filepath.Join(dir, "cpu.max"), true); ok {
		if v, err := parseCPUMax(b); err != nil {
			m.bad(filepath.Join(dir, "cpu.max"), err)
		} else {
			m.u.CPULimit = v
		}
	}
	m.waiting(filepath.Join(dir, "cgroup.threads"))
	m.gauge(bidding.Memory, filepath.Join(dir, "memory.current"))
	m.memoryLimit(filepath.Join(dir, "memory.max"))
	file := filepath.Join(dir, "memory.events")
	if b, ok := m.read(file, true); ok {
		if e, err := parseMemoryEvents(b); err != nil {
			m.bad(file, err)
		} else {
			sum, err := addU64(e.high, e.max)
			if err != nil {
				m.bad(file, err)
			} else if d, _, ok := m.delta("mem_high", sum); ok {
				m.u.MemHighEvents, m.u.HaveMemEvents = d, true
			}
			if e.hasOOMKill {
				m.oomKills(e.oomKill)
			}
		}
	}
	m.pressure(filepath.Join(dir, "cpu.pressure"), "cpu_psi", &m.u.CPUPressure)
	m.pressure(filepath.Join(dir, "memory.pressure"), "memory_psi", &m.u.MemoryPressure)
	// io.stat is absent when the io controller is not enabled here.
	m.counterFrom(bidding.IO, filepath.Join(dir, "io.stat"), true, parseIOStat, 1)
}

// throttling reads the CFS bandwidth counters of a cpu.stat (optional: v1
// kernels without CFS bandwidth control have none).
func (m *meter) throttling(file string) {
	if b, ok := m.read(file, true); ok {
		m.throttlingFrom(file, b)
	}
}

func (m *meter) throttlingFrom(file string, b []byte) {
	s, err := parseCPUStat(b)
	if err != nil {
		m.bad(file, err)
		return
	}
	if !s.ok {
		return
	}
	// Every counter is recorded, whichever restarts its interval.
	dP, secs, okP := m.delta("nr_periods", s.periods)
	dT, _, okT := m.delta("nr_throttled", s.throttled)
	dNs, _, okNs := m.delta("throttled_ns", s.throttledNs)
	if !okP || !okT || !okNs {
		return
	}
	// ns throttled per second ×1e-6 = ms per second = millicores.
	m.u.Throttled = float64(dNs) / secs * 1e-6
	if dP > 0 {
		m.u.ThrottledPeriods = min(float64(dT)/float64(dP), 1)
	}
	m.u.HaveThrottled = true
}

// v1Quota reads cpu.cfs_quota_us and cpu.cfs_period_us into CPULimit.
func (m *meter) v1Quota(dir string) {
	qf, pf := filepath.Join(dir, "cpu.cfs_quota_us"), filepath.Join(dir, "cpu.cfs_period_us")
	qb, ok := m.read(qf, true)
	if !ok {
		return
	}
	q, err := parseSigned(qb)
	if err != nil {
		m.bad(qf, err)
		return
	}
	if q <= 0 { // -1: no quota
		return
	}
	pb, ok := m.read(pf, false)
	if !ok {
		return
	}
	p, err := parseSingle(pb)
	if err != nil || p == 0 || p > 1<<40 { // the kernel allows 1 ms to 1 s
		m.bad(pf, fmt.Errorf("period %q is not a positive integer the kernel would write", clip(strings.TrimSpace(string(pb)))))
		return
	}
	if m.u.CPULimit, err = millicores(q, int64(p)); err != nil {
		m.bad(qf, err)
	}
}

func (m *meter) memoryLimit(file string) {
	if b, ok := m.read(file, true); ok {
		if v, err := parseMemoryMax(b); err != nil {
			m.bad(file, err)
		} else {
			m.u.MemoryLimit = v
		}
	}
}

func (m *meter) oomKills(v uint64) {
	if d, _, ok := m.delta("oom_kill", v); ok {
		m.u.OOMKills, m.u.HaveOOMKills = d, true
	}
}

// pressure reads a PSI file's "some" total into *dst as µs per second.
func (m *meter) pressure(file, name string, dst *float64) {
	b, ok := m.read(file, true)
	if !ok {
		return
	}
	v, err := parsePSI(b)
	if err != nil {
		m.bad(file, err)
		return
	}
	if d, secs, ok := m.delta(name, v); ok {
		*dst, m.u.HavePressure = float64(d)/secs, true
	}
}

// Package usage measures what each local service actually used over the
// last interval, from the same cgroup that package enforce limits (the path
// is resolved by cgroups.CgroupRel) and from its interface's byte counter.
// Counters become rates here; a counter that goes backwards (a recreated
// cgroup, a wrapped or reset counter) restarts the interval and never
// yields a negative rate.
package usage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

// V1 are the cgroup v1 mounts read (cgroups.V1Mounts): cpuacct (often
// co-mounted with cpu as "cpu,cpuacct"), memory and blkio. An empty one is
// not read.
type V1 = cgroups.V1Mounts

// Config says where the files are. Every path comes from here, so tests
// point it at a fake tree.
type Config struct {
	V2      string // unified hierarchy root; when set, V1 is not used
	V1      V1     // cpuacct for cpu time, cpu for throttling and the quota, memory, blkio
	Parent  string // client.cgroup_parent, as enforce uses it
	NetRoot string // default /sys/class/net
	// ProcRoot is where tasks' schedstat files are (default /proc): the
	// host's, so the agent runs in the host's pid namespace.
	ProcRoot string
	// ReadFile reads a kernel file (nil: os.ReadFile). Tests stand in for
	// the kernel with it, so a counter can be a function of the read time.
	ReadFile func(name string) ([]byte, error)
}

// Detect picks the hierarchy to read from a mountinfo file (default
// /proc/self/mountinfo) with the rule enforce.New uses, cgroups.Choose:
// cgroup-v1/cgroup-v2 name it; auto and none take a unified hierarchy
// offering cpu and memory, else v1.
func Detect(mode, mountinfo string) (Config, error) {
	if mountinfo == "" {
		mountinfo = "/proc/self/mountinfo"
	}
	l, err := cgroups.DetectFile(mountinfo)
	if err != nil {
		return Config{}, err
	}
	h, err := cgroups.Choose(mode, l)
	if err != nil {
		return Config{}, fmt.Errorf("nothing to measure: %w", err)
	}
	if h.Version == 2 {
		return Config{V2: h.V2}, nil
	}
	return Config{V1: h.V1}, nil
}

// Usage is one cgroup's usage over the last interval. Value holds base
// units (cpu millicores, memory bytes, io bytes/s, net bits/s); Have says
// which were measured: a rate needs two readings, and io and net need their
// counters.
//
// The other fields are the kernel's signals, over the same interval as the
// rates (counters need two readings; a counter that went backwards restarts
// its interval). Each is zero (its flag false) when not measurable: the
// file is absent (old kernel, controller off, PSI disabled) or it is the
// first reading.
type Usage struct {
	Value [bidding.NumResources]float64
	Have  [bidding.NumResources]bool

	// Throttled is CFS throttled time per second of wall time, in
	// millicores (ms throttled per s): v1 cpu.stat throttled_time (ns, in
	// the cpu hierarchy), v2 cpu.stat throttled_usec. The kernel sums it
	// over the per-CPU runqueues the cgroup ran on, so it can exceed 1000
	// on a multi-CPU host; see CPUDemand.
	Throttled float64
	// ThrottledPeriods is Δnr_throttled/Δnr_periods: the fraction (0…1) of
	// CFS periods in which the cgroup was throttled; 0 when no period with
	// a quota elapsed.
	ThrottledPeriods float64
	HaveThrottled    bool // Throttled and ThrottledPeriods were measured

	// Waiting is the runnable time of the cgroup's tasks not spent running,
	// per second of wall time, in millicores: the sum of their
	// /proc/<tid>/schedstat run_delay growth (throttled and preempted
	// alike). See waiting.go.
	Waiting     float64
	HaveWaiting bool

	// CPULimit is the CPU limit in force at the reading, in millicores
	// (v1 cpu.cfs_quota_us×1000/cpu.cfs_period_us, v2 cpu.max); 0 is none
	// (quota -1, "max") or unknown.
	CPULimit int64
	// MemoryLimit is the hard memory limit at the reading, in bytes (v1
	// memory.limit_in_bytes, v2 memory.max); 0 is none (v1's huge value,
	// "max") or unknown.
	MemoryLimit int64

	// MemFailcnt (v1: Δmemory.failcnt, times usage hit the limit) and
	// MemHighEvents (v2: Δ of memory.events high + max, times the cgroup
	// went over memory.high or hit memory.max) count limit hits in the
	// interval; HaveMemEvents says the one of this version was measured.
	MemFailcnt    uint64
	MemHighEvents uint64
	HaveMemEvents bool
	// OOMKills is the number of processes the OOM killer killed in the
	// cgroup during the interval (v1 memory.oom_control oom_kill, kernels
	// ≥ 4.13; v2 memory.events oom_kill).
	OOMKills     uint64
	HaveOOMKills bool

	// CPUPressure and MemoryPressure (v2 only, when PSI is on) are the
	// Δ"some total" of cpu.pressure and memory.pressure per second of wall
	// time, in µs/s: how long at least one task of the cgroup was stalled
	// waiting for cpu or memory (1e6 = stalled the whole time).
	CPUPressure    float64
	MemoryPressure float64
	HavePressure   bool // either was measured
}

// CPUDemand estimates the CPU the cgroup would have used had nothing held
// it back, in millicores: cpu usage + Waiting where measured (its tasks'
// runnable time not running: quota and contention alike), else usage +
// Throttled. It is an upper bound, only meaningful when Have[CPU]: a task
// throttled or preempted while it spins counts as wanting the whole time,
// whatever its duty cycle; throttled time is summed over per-CPU runqueues
// (up to n×1000 on n CPUs). Without either it is the usage.
func (u Usage) CPUDemand() float64 {
	if u.HaveWaiting {
		return u.Value[bidding.CPU] + u.Waiting
	}
	return u.Value[bidding.CPU] + u.Throttled
}

// Sum adds the usages of a service's replicas (its instances' cgroups):
//
//   - Value: the sum over the replicas where measured; Have is their OR.
//   - Throttled, pressures, event counts: sums; their Have flags are ORs.
//   - ThrottledPeriods: the mean over the replicas that measured it (a
//     fraction does not add; the mean weights replicas equally).
//   - CPULimit, MemoryLimit: the sum when every replica has a limit; 0 (no
//     limit) as soon as one has none or it is unknown, since the replicas
//     together are then unbounded.
//
// Sum of nothing is the zero Usage.
func Sum(us ...Usage) Usage {
	var s Usage
	var nThr int
	cpuNone, memNone := false, false
	for _, u := range us {
		for res := range s.Value {
			if u.Have[res] {
				s.Value[res] += u.Value[res]
				s.Have[res] = true
			}
		}
		s.Throttled += u.Throttled
		s.Waiting += u.Waiting
		s.HaveWaiting = s.HaveWaiting || u.HaveWaiting
		if u.HaveThrottled {
			s.ThrottledPeriods += u.ThrottledPeriods
			s.HaveThrottled = true
			nThr++
		}
		cpuNone = cpuNone || u.CPULimit <= 0
		memNone = memNone || u.MemoryLimit <= 0
		s.CPULimit += u.CPULimit
		s.MemoryLimit += u.MemoryLimit
		s.MemFailcnt += u.MemFailcnt
		s.MemHighEvents += u.MemHighEvents
		s.HaveMemEvents = s.HaveMemEvents || u.HaveMemEvents
		s.OOMKills += u.OOMKills
		s.HaveOOMKills = s.HaveOOMKills || u.HaveOOMKills
		s.CPUPressure += u.CPUPressure
		s.MemoryPressure += u.MemoryPressure
		s.HavePressure = s.HavePressure || u.HavePressure
	}
	if nThr > 0 {
		s.ThrottledPeriods /= float64(nThr)
	}
	if cpuNone {
		s.CPULimit = 0
	}
	if memNone {
		s.MemoryLimit = 0
	}
	return s
}

// Reader turns counters into rates. It keeps the last reading of every
// (key, counter); it is safe for concurrent use.
type Reader struct {
	cfg Config

	mu    sync.Mutex
	last  map[string]reading
	waits map[string]waitReading // per key: its tasks' run_delay at the last reading
}

type reading struct {
	v uint64
	t time.Time
}

// New returns a Reader for cfg.
func New(cfg Config) *Reader {
	if cfg.NetRoot == "" {
		cfg.NetRoot = "/sys/class/net"
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	return &Reader{cfg: cfg, last: map[string]reading{}, waits: map[string]waitReading{}}
}

// Read measures one service at now, in its cgroup under Config.Parent
// (cgroups.CgroupRel: t.Cgroup, else the service's name) and on
// t.Interface; it is ReadCgroup keyed by the service's name.
func (r *Reader) Read(service string, t cgroups.Target, now time.Time) (Usage, error) {
	rel, err := cgroups.CgroupRel(r.cfg.Parent, service, t.Cgroup)
	if err != nil {
		return Usage{}, err
	}
	return r.ReadCgroup(service, rel, t.Interface, now)
}

// ReadCgroup measures the cgroup at rel, a path relative to every
// hierarchy root ("allot/web", a Docker container's "docker/<id>"; ".."
// refused), and the egress of iface ("" for none), at now. Counters are
// kept under key (one per instance: two cgroups read under one key would
// mix their counters): the rates are since the previous ReadCgroup with the
// same key (none on the first).
//
// Memory is the current value; cpu, io and net are rates. Files that cannot
// be read or parsed are reported in the error, each naming its file (and
// the line); what could be read is still returned. Files of the kernel
// signals (cpu.stat's throttling, limits, memory events, pressure) may be
// absent: that is not an error, the signal is then not measured.
//
// Memory is memory.usage_in_bytes (v1) or memory.current (v2): the counter
// the kernel compares with the limit enforce writes (limit_in_bytes,
// memory.max), page cache included, so a forecast of it is a forecast of
// what the limit must hold. rss+cache from memory.stat would be about the
// same number and is not what the limit is checked against.
func (r *Reader) ReadCgroup(key, rel, iface string, now time.Time) (Usage, error) {
	rel, err := cgroups.CleanRel("cgroup", rel)
	if err != nil {
		return Usage{}, err
	}
	m := &meter{r: r, key: key, now: now}
	if r.cfg.V2 != "" {
		m.v2(filepath.Join(r.cfg.V2, rel))
	} else {
		m.v1(r.cfg.V1, rel)
	}
	if iface != "" {
		// tx_bytes: egress, which is what tc shapes; ×8 = bits/s.
		m.counter(bidding.Net, filepath.Join(r.cfg.NetRoot, iface, "statistics", "tx_bytes"), parseSingle, 8)
	}
	return m.u, errors.Join(m.errs...)
}

// delta is the counter's change since its last reading under the same key,
// and the seconds between them. The first reading, a counter that went
// backwards (reset, wrapped, cgroup recreated) and a clock that did not
// advance start a new interval instead (ok false).
func (r *Reader) delta(key string, v uint64, now time.Time) (d uint64, secs float64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, seen := r.last[key]
	r.last[key] = reading{v: v, t: now}
	if !seen || v < prev.v || !now.After(prev.t) {
		return 0, 0, false
	}
	return v - prev.v, now.Sub(prev.t).Seconds(), true
}

// Forget drops the readings kept under key (a service's name for Read):
// its next reading starts afresh.
func (r *Reader) Forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waits, key)
	for k := range r.last {
		if strings.HasPrefix(k, key+"\x00") {
			delete(r.last, k)
		}
	}
}

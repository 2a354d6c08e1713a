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
	"io/fs"
	"os"
	"path/filepath"
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
	V1      V1
	Parent  string // client.cgroup_parent, as enforce uses it
	NetRoot string // default /sys/class/net
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

// Usage is one service's usage over the last interval, in base units
// (millicores, bytes, bytes/s, bits/s). Have says which were measured: a
// rate needs two readings, and io and net need their counters.
type Usage struct {
	Value [bidding.NumResources]float64
	Have  [bidding.NumResources]bool
}

// Reader turns counters into rates. It keeps the last reading of every
// (service, counter); it is safe for concurrent use.
type Reader struct {
	cfg Config

	mu   sync.Mutex
	last map[string]reading
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
	return &Reader{cfg: cfg, last: map[string]reading{}}
}

// Read measures one service at now. Memory is the current value; cpu, io
// and net are rates since the previous Read of the same service (none on
// the first). Files that cannot be read or parsed are reported in the
// error, each naming its file; what could be read is still returned.
//
// Memory is memory.usage_in_bytes (v1) or memory.current (v2): the counter
// the kernel compares with the limit enforce writes (limit_in_bytes,
// memory.max), page cache included, so a forecast of it is a forecast of
// what the limit must hold. rss+cache from memory.stat would be about the
// same number and is not what the limit is checked against.
func (r *Reader) Read(service string, t cgroups.Target, now time.Time) (Usage, error) {
	var u Usage
	rel, err := cgroups.CgroupRel(r.cfg.Parent, service, t.Cgroup)
	if err != nil {
		return u, err
	}
	var errs []error
	counter := func(res bidding.Resource, file string, parse func([]byte) (uint64, error), perSecond float64) {
		v, err := r.readWith(file, parse)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if rate, ok := r.rate(service+"\x00"+res.String(), v, now); ok {
			u.Value[res], u.Have[res] = rate*perSecond, true
		}
	}
	gauge := func(res bidding.Resource, file string) {
		v, err := r.readWith(file, parseSingle)
		if err != nil {
			errs = append(errs, err)
			return
		}
		u.Value[res], u.Have[res] = float64(v), true
	}
	if r.cfg.V2 != "" {
		dir := filepath.Join(r.cfg.V2, rel)
		// usage_usec: µs of cpu per second ×1e-3 = millicores.
		counter(bidding.CPU, filepath.Join(dir, "cpu.stat"), func(b []byte) (uint64, error) { return parseKeyed(b, "usage_usec") }, 1e-3)
		gauge(bidding.Memory, filepath.Join(dir, "memory.current"))
		if f := filepath.Join(dir, "io.stat"); exists(f) { // absent when the io controller is not enabled here
			counter(bidding.IO, f, parseIOStat, 1)
		}
	} else {
		if d := r.cfg.V1.CPUAcct; d != "" {
			// cpuacct.usage: ns of cpu per second ×1e-6 = millicores.
			counter(bidding.CPU, filepath.Join(d, rel, "cpuacct.usage"), parseSingle, 1e-6)
		}
		if d := r.cfg.V1.Memory; d != "" {
			gauge(bidding.Memory, filepath.Join(d, rel, "memory.usage_in_bytes"))
		}
		if d := r.cfg.V1.Blkio; d != "" {
			counter(bidding.IO, filepath.Join(d, rel, "blkio.throttle.io_service_bytes"), parseBlkio, 1)
		}
	}
	if t.Interface != "" {
		// tx_bytes: egress, which is what tc shapes; ×8 = bits/s.
		counter(bidding.Net, filepath.Join(r.cfg.NetRoot, t.Interface, "statistics", "tx_bytes"), parseSingle, 8)
	}
	return u, errors.Join(errs...)
}

// rate is the counter's change per second since its last reading. The
// first reading, a counter that went backwards (reset, wrapped, cgroup
// recreated) and a clock that did not advance start a new interval instead.
func (r *Reader) rate(key string, v uint64, now time.Time) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, ok := r.last[key]
	r.last[key] = reading{v: v, t: now}
	if !ok || v < prev.v || !now.After(prev.t) {
		return 0, false
	}
	return float64(v-prev.v) / now.Sub(prev.t).Seconds(), true
}

// Forget drops a service's readings (its next Read starts afresh).
func (r *Reader) Forget(service string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range bidding.Resources() {
		delete(r.last, service+"\x00"+res.String())
	}
}

func (r *Reader) readWith(file string, parse func([]byte) (uint64, error)) (uint64, error) {
	read := r.cfg.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(file)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", file, err)
	}
	v, err := parse(b)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", file, err)
	}
	return v, nil
}

func exists(file string) bool {
	_, err := os.Stat(file)
	return !errors.Is(err, fs.ErrNotExist)
}

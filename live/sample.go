package live

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

// sample is what the kernel and the Engine held for one container at one
// moment of one step.
type sample struct {
	At        time.Time
	CPULimit  int64 // millicores from the cgroup's quota (-1: none)
	MemLimit  int64 // bytes from the cgroup (-1: none)
	DockerCPU int64 // millicores from docker inspect (-1: none)
	DockerMem int64 // bytes from docker inspect (-1: none)
	Throttled int64 // cumulative throttled ns
	Failcnt   int64 // cumulative memory limit hits
	OK        bool
}

// noLimit is v1's "unlimited" memory.limit_in_bytes (page-rounded max).
const noLimit = int64(1) << 62

// readSample reads a container's limits and counters from its cgroup (v1
// or v2) under parent/id. Its memory limit is the hard limit, or where the
// client borrows memory (borrowing) the reservation it holds: v1's soft
// limit, v2's memory.low.
func readSample(l cgroups.Layout, rel string, borrowing bool) sample {
	s := sample{At: time.Now(), CPULimit: -1, MemLimit: -1, DockerCPU: -1, DockerMem: -1}
	if l.V2 != "" {
		d := filepath.Join(l.V2, rel)
		max, err := os.ReadFile(filepath.Join(d, "cpu.max"))
		if err != nil {
			return s
		}
		f := strings.Fields(string(max))
		if len(f) == 2 && f[0] != "max" {
			q, _ := strconv.ParseInt(f[0], 10, 64)
			p, _ := strconv.ParseInt(f[1], 10, 64)
			if p > 0 {
				s.CPULimit = q * 1000 / p
			}
		}
		memFile := "memory.max"
		if borrowing {
			memFile = "memory.low"
		}
		if m, err := os.ReadFile(filepath.Join(d, memFile)); err == nil && strings.TrimSpace(string(m)) != "max" {
			s.MemLimit, _ = strconv.ParseInt(strings.TrimSpace(string(m)), 10, 64)
		}
		s.Throttled = keyed(filepath.Join(d, "cpu.stat"), "throttled_usec") * 1000
		s.Failcnt = keyed(filepath.Join(d, "memory.events"), "max")
		s.OK = true
		return s
	}
	cpu := filepath.Join(l.V1.CPU, rel)
	q, err1 := readInt(filepath.Join(cpu, "cpu.cfs_quota_us"))
	p, err2 := readInt(filepath.Join(cpu, "cpu.cfs_period_us"))
	if err1 != nil || err2 != nil {
		return s
	}
	if q > 0 && p > 0 {
		s.CPULimit = q * 1000 / p
	}
	mem := filepath.Join(l.V1.Memory, rel)
	memFile := "memory.limit_in_bytes"
	if borrowing {
		memFile = "memory.soft_limit_in_bytes"
	}
	if m, err := readInt(filepath.Join(mem, memFile)); err == nil && m < noLimit/2 {
		s.MemLimit = m
	}
	s.Throttled = keyed(filepath.Join(cpu, "cpu.stat"), "throttled_time")
	s.Failcnt, _ = readInt(filepath.Join(mem, "memory.failcnt"))
	s.OK = true
	return s
}

func readInt(f string) (int64, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// keyed reads "key value" lines (cpu.stat, memory.events).
func keyed(f, key string) int64 {
	fh, err := os.Open(f)
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// planLog records every committed plan a server announces.
type planLog struct {
	mu    sync.Mutex
	plans []bidding.Plan
}

func (pl *planLog) follow(ctx context.Context, c *api.Client) {
	var index uint64
	for ctx.Err() == nil {
		p, err := c.WatchPlan(ctx, index, 30*time.Second)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if p.Index <= index {
			continue
		}
		index = p.Index
		pl.mu.Lock()
		pl.plans = append(pl.plans, p)
		pl.mu.Unlock()
	}
}

// latest is the newest plan (ok false before the first).
func (pl *planLog) latest() (bidding.Plan, bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.plans) == 0 {
		return bidding.Plan{}, false
	}
	return pl.plans[len(pl.plans)-1], true
}

// inForce returns the plans that may hold at t: the newest created by t
// minus the apply latency, and the one before it ("within one epoch").
func (pl *planLog) inForce(t time.Time, latency time.Duration) []bidding.Plan {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i := len(pl.plans) - 1; i >= 0; i-- {
		if !pl.plans[i].Created.After(t.Add(-latency)) {
			if i > 0 {
				return []bidding.Plan{pl.plans[i], pl.plans[i-1]}
			}
			return []bidding.Plan{pl.plans[i]}
		}
	}
	return nil
}

func allocOf(p bidding.Plan, service string) (bidding.Allocation, bool) {
	for _, a := range p.Allocations {
		if a.Service == service {
			return a, true
		}
	}
	return bidding.Allocation{}, false
}

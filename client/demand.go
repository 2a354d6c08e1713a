package client

import (
	"math"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidrule"
	"github.com/allot-dev/allot/client/sla"
	"github.com/allot-dev/allot/usage"
)

// Thresholds of "the kernel held the service back" (pressed).
const (
	// pressedThrottled: CFS throttled this fraction of periods or more…
	pressedThrottled = 0.2
	// pressedNearLimit: …while using at least this fraction of its quota.
	pressedNearLimit = 0.8
	// pressedWaiting: or its tasks waited for a CPU at least this fraction
	// of the CPU they used (and pressedWaitingMin millicores): contention,
	// where no quota throttles it.
	pressedWaiting    = 0.25
	pressedWaitingMin = 50
	// memoryStep is how far above its limit a memory-pressed service's
	// demand is put: the kernel says it wants more, not how much.
	memoryStep = 0.25
	// cpuStep bounds a quota-throttled service's demand estimate at this
	// much above the larger of its usage and quota: usage + throttled
	// time is an upper bound that read 2–3× the demand of bursty
	// single-threaded loads in the live experiment (a probe measures it
	// when the node has room).
	cpuStep = 0.5
)

// atLimit: use is at least bidrule.AtLimit of a positive limit (zero is no
// limit): over the interval, of the limit in force, io or net at its
// limit, which a demand probe may lift (probe.go); under a probe's lifted
// limit, held there too, its use still only a lower bound.
func atLimit(r bidding.Resource, use float64, limit int64) bool {
	l := float64(limit)
	if r == bidding.Net {
		l *= netCounted
	}
	return limit > 0 && use >= bidrule.AtLimit*l
}

// netCounted is what an interface's tx_bytes reads of the tc rate holding
// it: tc charges every segment's headers of a GSO batch, tx_bytes counts
// them once. Measured 0.962 on a veth (kerneltest
// TestAgentNetDemandUnderLimit: egress under a 10 Mbit/s class read about
// 9.55, and 9.48 in two runs, under bidrule.AtLimit of the rate itself, so
// no probe ran at that epoch).
const netCounted = 0.962

// Demand is what a service wanted of resource r over the last interval as
// far as the kernel tells, and whether the kernel held it back (pressed):
//
//   - cpu: throttled in ≥ 20% of CFS periods at ≥ 80% of its quota, or,
//     with no quota, its tasks waited runnable for a CPU ≥ 25% of what
//     they used (contention with other cgroups, the only sign there). The demand is then
//     usage + that waiting (usage.CPUDemand): an upper bound, since a task
//     held back while it spins counts as wanting the whole time, whatever
//     its duty cycle; under a quota it is kept within 50% above the larger
//     of usage and quota (cpuStep). The client narrows it with a demand
//     probe when the node has room (probe.go).
//   - memory: the limit was hit (failcnt, memory.events max), an OOM kill,
//     or memory PSI ≥ 10%: demand is 25% above the larger of usage and limit
//     (borrowing, Config.Borrow, the limit is the reservation: the kernel
//     killed it for being furthest above that on a full node).
//   - io, net: no kernel signal of unmet demand (io.max and tc cap them
//     silently); the usage. At their limit, a demand probe measures them
//     beyond it when the node has room (probe.go).
func Demand(r bidding.Resource, u usage.Usage) (float64, bool) {
	v := u.Value[r]
	switch r {
	case bidding.CPU:
		throttled := throttledAtQuota(u)
		// Waiting counts only without a quota: a service under a quota it
		// does not reach waits for CPUs others hold, which more quota
		// would not give it.
		contended := u.CPULimit == 0 && u.HaveWaiting && u.Waiting >= pressedWaitingMin && u.Waiting >= pressedWaiting*v
		if throttled || contended {
			d := math.Max(v, u.CPUDemand())
			if throttled {
				d = math.Min(d, (1+cpuStep)*math.Max(v, float64(u.CPULimit)))
			}
			return d, true
		}
	case bidding.Memory:
		hit := u.MemFailcnt > 0 || u.OOMKills > 0 || u.HavePressure && u.MemoryPressure >= 0.1e6
		if hit && u.MemoryLimit > 0 {
			return math.Max(v, float64(u.MemoryLimit)) * (1 + memoryStep), true
		}
	}
	return v, false
}

// throttledAtQuota: CFS throttled it in ≥ 20% of periods while it used ≥
// 80% of its quota — the quota held it back, so lifting it shows more.
func throttledAtQuota(u usage.Usage) bool {
	return u.HaveThrottled && u.ThrottledPeriods >= pressedThrottled && nearQuota(u)
}

// nearQuota: it used ≥ 80% of a cpu quota.
func nearQuota(u usage.Usage) bool {
	return u.CPULimit > 0 && u.Value[bidding.CPU] >= pressedNearLimit*float64(u.CPULimit)
}

// signals is what package sla judges a service's kernel pressure by. A
// batch service's CPU throttling is left out: held to its share when the
// node is contended is what batch means, and a boost for it would take from
// the critical services its class yields to (memory trouble still counts).
func signals(u usage.Usage, class bidding.Class) sla.Signals {
	s := sla.Signals{CPULimit: u.CPULimit, OOMKills: u.OOMKills, MemFailcnt: u.MemFailcnt, MemHighEvents: u.MemHighEvents}
	if u.Have[bidding.CPU] {
		s.CPUUsage = int64(math.Round(u.Value[bidding.CPU]))
	}
	if u.HaveThrottled && class != bidding.ClassBatch {
		s.ThrottledPeriods = u.ThrottledPeriods
	}
	if u.HavePressure { // µs stalled per s of wall time → fraction
		s.CPUPressure, s.MemoryPressure = u.CPUPressure/1e6, u.MemoryPressure/1e6
	}
	return s
}

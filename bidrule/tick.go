package bidrule

import "time"

// Within an epoch (client/tick.go, modelled by sim/tick.go): a burst that
// starts mid-epoch would wait for the next epoch step to be measured and
// lent to, a whole epoch at its old share while its node has room. So the
// client also looks every LendEvery between epoch steps: a service its
// limit in force holds back is probed into the room left (the plan's
// unallocated capacity less what is lent) and lent what it was measured
// at (LendWant against that limit, Lend among those that want it), on top
// of what it holds, until the next plan. Nothing is taken from anyone's
// plan, and no series gate (Burst) applies: the service wants the room
// now, not on a guess about the next epoch.

// ProbeWindow is how long a demand probe measures: a second, or a quarter
// of the epoch when that is shorter. It first lets the service settle
// under the lifted limit for one and a half windows. A service held back
// catches up when let go (a backlog, a worker's debt), so what it uses at
// first is more than it wants; measured on this host, a 1.5-core load
// lifted from 100m to 1.9 cores used 1873, 1824, 1688, 1523, 1529m in
// successive 200 ms.
func ProbeWindow(epoch time.Duration) time.Duration {
	w := time.Second
	if epoch > 0 && epoch/4 < w {
		w = epoch / 4
	}
	return w
}

// LendEvery is how often the client looks for services held back between
// epoch steps: every ten seconds, or a quarter of the epoch when that is
// shorter (0: never, an epoch of zero).
func LendEvery(epoch time.Duration) time.Duration {
	return min(10*time.Second, epoch/4)
}

// LendReaction is the share of an epoch a burst waits, on average, before
// a within-epoch lend serves it: half a look's interval (it starts at a
// random moment) and the probe's two and a half windows; at most the
// whole epoch.
func LendReaction(epoch time.Duration) float64 {
	if epoch <= 0 {
		return 1
	}
	wait := LendEvery(epoch)/2 + ProbeWindow(epoch)*5/2
	return min(1, wait.Seconds()/epoch.Seconds())
}

// MaxLookWait is the largest share of an epoch a burst may wait for a
// look's lend (LendReaction) where cpu, io and net reserve less than the
// class quantile (ClassTop's lends): a reservation at the median holds
// only where the looks serve most of the epoch. With 5-minute epochs a
// burst waits 2.5% of one (the simulator's rows, docs/BENCHMARKS.md
// "Reserve the median, lend the rest"); with the live harness's 5 s epochs
// 62.5%. 10% between them is a judgment, not a measurement: epochs of 75 s
// and longer.
const MaxLookWait = 0.1

// LooksServe reports whether the looks of a client with this epoch serve
// enough of it for cpu, io and net to reserve less (MaxLookWait).
func LooksServe(epoch time.Duration) bool { return LendReaction(epoch) <= MaxLookWait }

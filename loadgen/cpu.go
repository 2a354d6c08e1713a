package loadgen

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// slice is the duty-cycle period of a cpu worker: busy for duty×slice, then
// asleep for the rest. Short against the 100 ms CFS period, so a quota
// sees a steady demand rather than bursts.
const slice = 10 * time.Millisecond

// cpuBurner keeps ceil(cores) threads busy, each for cores/ceil(cores) of
// the time. Workers are started as needed and kept (idle) when the ask
// drops, so a trace can move up and down.
type cpuBurner struct {
	mu      sync.Mutex
	workers []*atomic.Uint64 // each worker's duty (float64 bits), 0..1
	spent   atomic.Int64     // ns of cpu time the workers have had, all together
	wg      sync.WaitGroup
	stop    chan struct{}
}

// own is the cpu time the workers have had so far.
func (b *cpuBurner) own() time.Duration { return time.Duration(b.spent.Load()) }

func newCPUBurner() *cpuBurner { return &cpuBurner{stop: make(chan struct{})} }

// set spreads cores evenly over ceil(cores) workers.
func (b *cpuBurner) set(cores float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := int(math.Ceil(cores))
	for len(b.workers) < n {
		d := new(atomic.Uint64)
		b.workers = append(b.workers, d)
		if p := runtime.GOMAXPROCS(0); p < len(b.workers)+1 {
			runtime.GOMAXPROCS(len(b.workers) + 1) // the busy threads plus one for the rest
		}
		b.wg.Add(1)
		go b.work(d)
	}
	for i, d := range b.workers {
		duty := 0.0
		if i < n {
			duty = cores / float64(n)
		}
		d.Store(math.Float64bits(duty))
	}
}

func (b *cpuBurner) close() {
	close(b.stop)
	b.wg.Wait()
}

// work is one busy thread. It spins while the CPU time it owes (duty ×
// wall time since the duty was set, minus the CPU time this thread has
// had since) is positive, then sleeps the rest of the slice. Owing CPU
// time, not wall time, makes it work-conserving like a real service: time
// it was preempted or throttled is not counted as work done, so it stays
// runnable until it has had its share (up to what the kernel gives it). A
// debt is capped at one CFS period (maxDebt): a thread held back for
// longer does not pay it all back in a burst.
func (b *cpuBurner) work(duty *atomic.Uint64) {
	defer b.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur := -1.0
	var since time.Time
	var cpu0 time.Duration // this thread's cpu time at since
	last := threadCPU()    // this thread's cpu time when it last added to spent
	var sink uint64
	for {
		select {
		case <-b.stop:
			_ = sink
			return
		default:
		}
		d := math.Float64frombits(duty.Load())
		now := time.Now()
		used := threadCPU()
		b.spent.Add(int64(used - last))
		last = used
		if d != cur {
			cur, since, cpu0 = d, now, used
		}
		if d <= 0 {
			time.Sleep(slice)
			continue
		}
		owed := time.Duration(d*float64(now.Sub(since))) - (used - cpu0)
		if owed > maxDebt { // forgive what is past the cap: move the start forward
			since = now.Add(-time.Duration(float64(maxDebt) / d))
			cpu0 = used
			owed = maxDebt
		}
		if owed > 0 {
			target := used + owed
			for threadCPU() < target {
				for i := 0; i < 2000; i++ {
					sink = sink*6364136223846793005 + 1442695040888963407
				}
			}
		}
		if d < 1 {
			time.Sleep(time.Duration((1 - d) * float64(slice)))
		}
	}
}

// maxDebt is the most cpu time a worker catches up on after being held back.
const maxDebt = 100 * time.Millisecond

// threadCPU is the calling OS thread's cpu time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// cpuTime is the process's user+system cpu time so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

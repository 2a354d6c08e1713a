package enforce

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Borrow is how memory is enforced when services may borrow it
// (client.memory_borrow, on by default): a service's plan allocation is a
// reservation, not a limit. Its hard limit is the node's memory (Domain),
// so it can use what others reserved and do not use, or what nobody was
// allocated; its reservation is what the kernel protects (v1
// memory.soft_limit_in_bytes, v2 memory.low) and ranks it by when the
// node's memory is all used: the OOM killer takes the process furthest
// above its reservation first (OOMScoreAdj). Kubernetes' Burstable pods
// work the same way. The zero Borrow is hard limits: the allocation is the
// limit, and an OOM kill hits whoever goes over its own.
type Borrow struct {
	// Domain is the node's memory in bytes that borrowers share (its
	// capacity); 0: hard limits.
	Domain int64
	// Proc is the procfs mount ("" = /proc).
	Proc string
}

// On says whether memory is borrowed rather than limited.
func (b Borrow) On() bool { return b.Domain > 0 }

// OOMScoreAdj is the oom_score_adj that makes the kernel's OOM killer, in
// a memory domain of domain bytes, take the process furthest above its
// reservation first. The kernel's badness of a process is its memory
// (resident, swap and page tables) × 1000 / the domain's size, plus
// oom_score_adj; with adj = 1000 × (domain − reserved) / domain it is
// 1000 + 1000 × (memory − reserved) / domain: the overage, shifted by a
// constant that leaves the order alone. Kubernetes ranks Burstable pods
// by the same formula. It is never negative, within [0, 1000]: raising a
// process's oom_score_adj needs no privilege, lowering it below 0 needs
// CAP_SYS_RESOURCE (which root in a container, as here, often lacks:
// measured, kerneltest), and a node's own daemons at 0 stay behind every
// borrower. It is rounded down, so that no service at or below its
// reservation ranks above the OOM decoy (DecoyMemory).
func OOMScoreAdj(reserved, domain int64) int {
	if domain <= 0 {
		return 0
	}
	reserved = min(max(reserved, 0), domain)
	return int(1000 * (domain - reserved) / domain) // rounded down: see DecoyMemory
}

// Memory is the hard limit and the soft one for an allocation of bytes
// (0 for no allocation: no limit): borrowing, the node's memory and the allocation (v1
// soft_limit_in_bytes, v2 memory.low, the Engine's MemoryReservation);
// else the allocation and 95% of it (v1 soft_limit_in_bytes, v2
// memory.high, the Engine's MemoryReservation).
func (b Borrow) Memory(bytes int64) (hard, soft int64) {
	switch {
	case bytes <= 0:
		return 0, 0
	case b.On():
		return max(b.Domain, bytes), bytes
	}
	return bytes, memoryHigh(bytes)
}

// Rank writes OOMScoreAdj(reserved, b.Domain) to every process listed in
// the cgroup's cgroup.procs in dir (none for a zero allocation: no limit,
// nothing reserved to rank by). A process that exits meanwhile is
// skipped; a cgroup without processes (or not yet holding any file) has
// nothing to rank. Processes started later inherit the value from their
// parent; one started afresh in the cgroup (a restart) gets it at the next
// apply.
func (b Borrow) Rank(dir string, reserved int64) error {
	if !b.On() || reserved <= 0 {
		return nil
	}
	procs := filepath.Join(dir, "cgroup.procs")
	f, err := os.Open(procs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", procs, err)
	}
	defer f.Close()
	proc := b.Proc
	if proc == "" {
		proc = "/proc"
	}
	adj := strconv.Itoa(OOMScoreAdj(reserved, b.Domain))
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pid := strings.TrimSpace(sc.Text())
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if err := writeExisting(filepath.Join(proc, pid, "oom_score_adj"), adj); err != nil && !gone(err) {
			errs = append(errs, err)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("reading %s: %w", procs, err))
	}
	return errors.Join(errs...)
}

// gone: the process exited between listing and writing.
func gone(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

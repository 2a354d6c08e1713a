package kerneltest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/internal/waitfor"
)

// TestMemoryBorrowKillsTheBorrower: two services share a memory domain of
// 192 MiB (their parent's limit) under enforce.Borrow: keeper is allocated
// 128 MiB, borrower 32 MiB, and the OOM decoy (enforce.Decoy, `allot
// oom-decoy`) runs beside them as the client runs it. While the domain has
// room the borrower holds 3× its allocation (96 MiB) and nobody is killed;
// when the keeper grows to 120 MiB, within its allocation, the domain is
// full and the kernel's OOM killer takes the borrower's process, not the
// keeper's; a second kill, if the kernel makes one, takes the decoy.
func TestMemoryBorrowKillsTheBorrower(t *testing.T) {
	needRoot(t, "memory limits and the OOM killer on real cgroups")
	l := v1Layout(t)
	needNoSwap(t, "OOM-killing")
	const (
		mib      = 1 << 20
		domain   = 192 * mib
		keepA    = 128 * mib // the keeper's allocation
		borrowA  = 32 * mib  // the borrower's
		keep1    = 32 * mib  // phase 1: 32 + 96 = 128 MiB, within the domain
		borrowed = 96 * mib
		keep2    = 120 * mib // phase 2: 120 + 96 = 216 MiB, over it
		step     = 250 * time.Millisecond
		rows1    = 40 // phase 1 lasts 10 s of keeper's trace
	)
	var parent string
	t.Cleanup(func() { // registered first, so it runs after every cgroup's removal
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(l.V1.Memory), "*", parent)); len(left) > 0 {
			t.Errorf("cgroups left behind: %v", left)
		}
	})
	parent = testParent(t, l)
	mem := func(rel, file string) string { return filepath.Join(l.V1.Memory, parent, rel, file) }
	num := func(rel, file string) int64 {
		n, err := strconv.ParseInt(readTrim(t, mem(rel, file)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The domain: children must count against the parent (use_hierarchy, set
	// before they exist), whose limit the test writes; the driver does not.
	if readTrim(t, mem("", "memory.use_hierarchy")) != "1" {
		if err := os.WriteFile(mem("", "memory.use_hierarchy"), []byte("1"), 0); err != nil {
			t.Fatalf("setting memory.use_hierarchy on %s: %v", parent, err)
		}
	}
	for file, v := range map[string]string{"memory.limit_in_bytes": strconv.Itoa(domain), "memory.oom_control": "0"} {
		if err := os.WriteFile(mem("", file), []byte(v), 0); err != nil {
			t.Fatalf("writing %s on %s: %v", file, parent, err)
		}
	}
	if h, lim := readTrim(t, mem("", "memory.use_hierarchy")), num("", "memory.limit_in_bytes"); h != "1" || lim != domain {
		t.Fatalf("parent: use_hierarchy %s, limit_in_bytes %d; want 1 and %d", h, lim, domain)
	}
	procs := map[string][]string{"keeper": child(t, l, parent, "keeper"), "borrower": child(t, l, parent, "borrower")}

	trace := filepath.Join(t.TempDir(), "keeper.csv")
	csv := "memory\n" + strings.Repeat(fmt.Sprintf("%d\n", keep1), rows1) + strings.Repeat(fmt.Sprintf("%d\n", keep2), 160)
	if err := os.WriteFile(trace, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(time.Second) // both start loading then: ranked before they hold anything
	origin := fmt.Sprintf("%d.%09d", t0.Unix(), t0.Nanosecond())
	keeper := start(t, procs["keeper"], "", "--trace", trace, "--column", "memory", "--step", step.String(), "--start", origin)
	borrower := start(t, procs["borrower"], "", "--memory", strconv.Itoa(borrowed), "--step", step.String(), "--start", origin, "--duration", "60s")
	ps := map[string]*proc{"keeper": keeper, "borrower": borrower}
	pid := func(svc string) string { return strconv.Itoa(ps[svc].cmd.Process.Pid) }
	waitfor.True(t, "both loadgens in their memory cgroups", 5*time.Second, func() bool {
		return readTrim(t, mem("keeper", "cgroup.procs")) == pid("keeper") && readTrim(t, mem("borrower", "cgroup.procs")) == pid("borrower")
	})

	d := enforce.NewCgroupV1(l.V1, enforce.CgroupConfig{Parent: parent, Borrow: enforce.Borrow{Domain: domain}})
	decoyKills := startDecoy(t, d, mem(enforce.DecoyCgroupName, "cgroup.procs"))
	if err := d.Apply(context.Background(), []bidding.Allocation{{Service: "keeper", Memory: keepA}, {Service: "borrower", Memory: borrowA}}); err != nil {
		t.Fatal(err)
	}
	for svc, alloc := range map[string]int64{"keeper": keepA, "borrower": borrowA} {
		want := strconv.Itoa(enforce.OOMScoreAdj(alloc, domain))
		adj := readTrim(t, filepath.Join("/proc", pid(svc), "oom_score_adj"))
		hard, soft := num(svc, "memory.limit_in_bytes"), num(svc, "memory.soft_limit_in_bytes")
		t.Logf("%s (pid %s): allocation %d MiB, oom_score_adj %s (want %s), limit_in_bytes %d, soft_limit_in_bytes %d", svc, pid(svc), alloc/mib, adj, want, hard, soft)
		if adj != want || hard != domain || soft != alloc {
			t.Errorf("%s: oom_score_adj %s, limit %d, soft limit %d; want %s, %d, %d", svc, adj, hard, soft, want, domain, alloc)
		}
	}

	got := func(p *proc) float64 {
		ln, _ := p.last()
		g, _ := ln.Got.Get(bidding.Memory)
		return g
	}
	figures := func(when string) {
		t.Logf("%s: loadgen's last got: keeper %.1f MiB, borrower %.1f MiB; usage_in_bytes keeper %.1f, borrower %.1f, parent %.1f MiB (max %.1f); parent failcnt %d, oom_control %q; keeper's %q, borrower's %q",
			when, got(keeper)/mib, got(borrower)/mib, float64(num("keeper", "memory.usage_in_bytes"))/mib, float64(num("borrower", "memory.usage_in_bytes"))/mib,
			float64(num("", "memory.usage_in_bytes"))/mib, float64(num("", "memory.max_usage_in_bytes"))/mib, num("", "memory.failcnt"),
			readTrim(t, mem("", "memory.oom_control")), readTrim(t, mem("keeper", "memory.oom_control")), readTrim(t, mem("borrower", "memory.oom_control")))
	}
	defer func() {
		if t.Failed() {
			figures("at the failure")
		}
	}()
	noKill := func(rel string) bool {
		return strings.Contains(readTrim(t, mem(rel, "memory.oom_control")), "oom_kill 0")
	}

	// Phase 1: the borrower uses 3× its allocation while the domain has room.
	waitfor.True(t, "keeper holding 32 MiB and borrower 96 MiB", time.Until(t0)+8*time.Second, func() bool {
		keeper.alive(t)
		borrower.alive(t)
		return got(keeper) >= keep1*0.95 && got(borrower) >= borrowed*0.95
	})
	time.Sleep(time.Until(t0.Add(rows1*step - 2*time.Second))) // held for several seconds
	keeper.alive(t)
	borrower.alive(t)
	figures("phase 1, before the keeper grows")
	if !noKill("keeper") || !noKill("borrower") {
		t.Fatal("the kernel OOM-killed while the domain had room")
	}

	// Phase 2: the keeper grows to 120 MiB, within its allocation; the
	// domain is full, and one of them must go.
	exited := func(p *proc) bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	waitfor.True(t, "the kernel to OOM-kill the borrower once the keeper grows", time.Until(t0.Add(rows1*step))+15*time.Second, func() bool {
		return exited(borrower)
	})
	time.Sleep(2 * step) // a second kill, if any, comes within milliseconds
	for _, svc := range []string{"borrower", "keeper"} {
		if p := ps[svc]; exited(p) {
			err := p.cmd.Wait()
			p.mu.Lock()
			t.Logf("%s (pid %s) exited %s into phase 2, after %d loadgen lines: %v; stderr %q", svc, pid(svc), time.Since(t0.Add(rows1*step)).Round(time.Millisecond), len(p.lines), err, p.stderr.String())
			p.mu.Unlock()
			if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Errorf("%s ended otherwise than by the OOM killer's SIGKILL: %v", svc, err)
			}
		}
	}
	// The kernel's order of kills: the borrower must be its first choice,
	// the decoy its second.
	var order []string
	if out, err := exec.Command("dmesg").Output(); err == nil {
		for _, ln := range strings.Split(string(out), "\n") {
			if strings.Contains(ln, parent) || strings.Contains(ln, "Killed process "+pid("borrower")) || strings.Contains(ln, "Killed process "+pid("keeper")) {
				t.Logf("dmesg: %s", strings.TrimSpace(ln))
			}
			for _, svc := range []string{"borrower", "keeper"} {
				if strings.Contains(ln, "Killed process "+pid(svc)+" ") {
					order = append(order, svc)
				}
			}
			if strings.Contains(ln, "Killed process ") && strings.Contains(ln, "oom_score_adj:1000") && len(order) > 0 {
				order = append(order, "decoy")
			}
		}
	} else {
		t.Logf("dmesg unreadable (%v): the order of kills is not checked", err)
	}
	if len(order) > 0 && order[0] != "borrower" {
		t.Fatalf("the kernel's first OOM kill took %s (order %v): want the borrower, furthest above its allocation", order[0], order)
	}
	if len(order) > 1 && order[1] != "decoy" {
		t.Fatalf("the kernel's second OOM kill took %s (order %v): want the decoy", order[1], order)
	}
	t.Logf("kills in the order the kernel made them: %v; the decoy restarted after %d", order, decoyKills.Load())
	if noKill("borrower") {
		t.Errorf("the borrower's cgroup counts no oom_kill: %q", readTrim(t, mem("borrower", "memory.oom_control")))
	}
	if exited(keeper) {
		// Without the decoy, seen in 1 to 9 of 10 runs on v1 memcg
		// (kernel 6.18): a second kill 4–5 ms after the first, with the
		// domain still full — the borrower's memory not yet uncharged
		// while the keeper kept charging. With it, the decoy takes that
		// kill; a third is reported, not asserted (kerneltest/DESIGN.md).
		t.Logf("the kernel killed the keeper too, after the borrower (order %v), while the borrower's memory was still charged", order)
		return
	}
	waitfor.True(t, "the keeper to hold 120 MiB", 5*time.Second, func() bool {
		keeper.alive(t)
		return got(keeper) >= keep2*0.95
	})
	figures("phase 2, after the kill")
	if !noKill("keeper") {
		t.Errorf("the keeper's cgroup counts an oom_kill: %q", readTrim(t, mem("keeper", "memory.oom_control")))
	}
}

// startDecoy runs the OOM decoy as the client does (enforce.Decoy, `allot
// oom-decoy` joining d's decoy cgroup) until the test ends, then removes its
// cgroup; it waits until the decoy is in procs and ranked first. The
// counter is the decoy's SIGKILLs.
func startDecoy(t *testing.T, d *enforce.Cgroup, procs string) *atomic.Int64 {
	t.Helper()
	join, err := d.DecoyCgroup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(join) != 1 || join[0] != procs {
		t.Fatalf("the decoy's cgroup: %v, want %s", join, procs)
	}
	var kills atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	dec := &enforce.Decoy{Argv: []string{allotBin, "oom-decoy", "--join", procs}, Killed: func() { kills.Add(1) }}
	go func() { defer close(done); dec.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		waitfor.True(t, "the decoy's cgroup empty and removed", 5*time.Second, func() bool {
			return os.Remove(filepath.Dir(procs)) == nil || errors.Is(os.Remove(filepath.Dir(procs)), os.ErrNotExist)
		})
	})
	waitfor.True(t, "the decoy in its cgroup, ranked 1000", 5*time.Second, func() bool {
		pid := readTrim(t, procs)
		if pid == "" || strings.Contains(pid, "\n") {
			return false
		}
		adj, err := os.ReadFile(filepath.Join("/proc", pid, "oom_score_adj"))
		return err == nil && strings.TrimSpace(string(adj)) == "1000"
	})
	return &kills
}

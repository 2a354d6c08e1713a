package kerneltest

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
)

// TestMemoryLoweredNotKilled: a loadgen holds 64 MiB; the plan drops from
// 256 MiB to 32 MiB. The process is not killed, the hard limit stays above
// its usage (the kernel refuses what it cannot reclaim, and the driver
// reports it), and the soft limit is set to 95% of the plan.
func TestMemoryLoweredNotKilled(t *testing.T) {
	needRoot(t, "a memory limit on a real cgroup")
	l := v1Layout(t)
	needNoSwap(t, "refusing the lower limit")
	const svc = "hold"
	parent, procs := service(t, l, svc)
	d := enforce.NewCgroupV1(l.V1, enforce.CgroupConfig{Parent: parent})
	r := usage.New(usage.Config{V1: usage.V1{CPUAcct: l.V1.CPUAcct, Memory: l.V1.Memory, Blkio: l.V1.Blkio}, Parent: parent})
	ctx := context.Background()
	if err := d.Apply(ctx, []bidding.Allocation{{Service: svc, Memory: 256 << 20}}); err != nil {
		t.Fatal(err)
	}
	const held = 64 << 20
	p := start(t, procs, "", "--memory", "64MiB", "--step", "250ms", "--duration", "30s")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ln, ok := p.last(); ok {
			if g, _ := ln.Got.Get(bidding.Memory); g >= held*95/100 { // the process's footprint, within a little of it
				break
			}
		}
		p.alive(t)
		if time.Now().After(deadline) {
			t.Fatal("loadgen did not report 64 MiB held within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	dir := filepath.Join(l.V1.Memory, parent, svc)
	num := func(file string) int64 {
		n, err := strconv.ParseInt(readTrim(t, filepath.Join(dir, file)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := num("memory.usage_in_bytes")

	const plan = 32 << 20
	err := d.Apply(ctx, []bidding.Allocation{{Service: svc, Memory: plan}})
	t.Logf("lowering the plan to 32 MiB with %d bytes in use: %v", before, err)
	if err == nil {
		t.Errorf("lowering the limit below what the process holds succeeded: the driver should report the kernel's refusal")
	}
	time.Sleep(600 * time.Millisecond) // two more loadgen steps
	p.alive(t)
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("loadgen died: %v", err)
	}
	hard, soft, used := num("memory.limit_in_bytes"), num("memory.soft_limit_in_bytes"), num("memory.usage_in_bytes")
	page := int64(syscall.Getpagesize())
	wantSoft := (plan - plan/20) / page * page
	u, rerr := r.Read(svc, enforce.Target{}, time.Now())
	ln, _ := p.last()
	got, _ := ln.Got.Get(bidding.Memory)
	oom := readTrim(t, filepath.Join(dir, "memory.oom_control"))
	t.Logf("after: limit_in_bytes %d, soft_limit_in_bytes %d (want %d = 95%% of 32 MiB), usage_in_bytes %d, usage.Reader %.0f (%v), loadgen got %.0f",
		hard, soft, wantSoft, used, u.Value[bidding.Memory], rerr, got)
	if hard <= used {
		t.Errorf("hard limit %d is not above usage %d", hard, used)
	}
	if soft != wantSoft {
		t.Errorf("soft limit %d, want %d (95%% of the plan)", soft, wantSoft)
	}
	if got < held {
		t.Errorf("loadgen holds %.0f bytes after the lowering, want %d", got, held)
	}
	if rerr != nil || u.Value[bidding.Memory] < held {
		t.Errorf("usage.Reader memory %.0f (%v), want at least %d", u.Value[bidding.Memory], rerr, held)
	}
	if strings.Contains(oom, "oom_kill ") && !strings.Contains(oom, "oom_kill 0") {
		t.Errorf("the kernel OOM-killed in the cgroup: %s", oom)
	}
}

// needNoSwap skips the test when swap is on: the kernel could page memory
// out instead of what the test expects of it (what).
func needNoSwap(t *testing.T, what string) {
	t.Helper()
	if s := readTrim(t, "/proc/swaps"); strings.Count(s, "\n") > 0 {
		t.Skipf("skipped: swap is on, so the kernel could page the memory out instead of %s", what)
	}
}

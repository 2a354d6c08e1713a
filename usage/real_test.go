package usage

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

// burnEnv makes the test binary, run as a child, burn cpu for a bounded
// time after it reads one line on stdin (by then it is in the cgroup).
const burnEnv = "ALLOT_USAGE_TEST_BURN"

func TestMain(m *testing.M) {
	if os.Getenv(burnEnv) == "throttle" {
		burnThreads(2, 1500*time.Millisecond)
		os.Exit(0)
	}
	if os.Getenv(burnEnv) == "1" {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		end := time.Now().Add(300 * time.Millisecond)
		x := 0
		for time.Now().Before(end) {
			for i := 0; i < 1e5; i++ {
				x += i
			}
		}
		fmt.Println(x > 0)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRealCgroupV1CPU creates a cgroup in the host's v1 cpuacct and memory
// hierarchies, runs a child that burns cpu for 300 ms inside it, and
// reads a positive cpu rate and memory value through Reader; the cgroups
// are removed afterwards.
func TestRealCgroupV1CPU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups (run the tests as root to exercise the kernel)")
	}
	cfg, err := Detect("cgroup-v1", "")
	if err != nil || cfg.V1.CPUAcct == "" {
		t.Skipf("no cgroup v1 cpuacct hierarchy on this host: %v", err)
	}
	parent := fmt.Sprintf("allot-usage-test-%d", os.Getpid())
	cfg.Parent = parent
	var dirs []string
	mounts := []string{cfg.V1.CPUAcct, cfg.V1.Memory}
	if cfg.V1.Blkio != "" {
		mounts = append(mounts, cfg.V1.Blkio)
	}
	for _, m := range mounts {
		d := filepath.Join(m, parent, "burn")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d, filepath.Join(m, parent))
	}
	t.Cleanup(func() {
		for _, d := range dirs { // each child before its parent
			if err := os.Remove(d); err != nil {
				t.Errorf("removing cgroup %s: %v", d, err)
			}
		}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), burnEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, d := range []string{dirs[0], dirs[2]} {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(pid), 0o644); err != nil {
			t.Fatalf("moving the child into %s: %v", d, err)
		}
	}
	r := New(cfg)
	t0 := time.Now()
	if _, err := r.Read("burn", cgroups.Target{}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	u, err := r.Read("burn", cgroups.Target{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !u.Have[bidding.CPU] || u.Value[bidding.CPU] <= 0 {
		t.Fatalf("cpu %v (measured %v), want a positive rate", u.Value[bidding.CPU], u.Have[bidding.CPU])
	}
	if !u.Have[bidding.Memory] {
		t.Fatal("memory not measured")
	}
	if cfg.V1.Blkio != "" && (!u.Have[bidding.IO] || u.Value[bidding.IO] < 0) {
		t.Fatalf("io %v (measured %v), want a rate >= 0", u.Value[bidding.IO], u.Have[bidding.IO])
	}
	t.Logf("child burned %.0f millicores over %v; memory.usage_in_bytes %v", u.Value[bidding.CPU], time.Since(t0).Round(time.Millisecond), u.Value[bidding.Memory])
}

// burnThreads waits for a line on stdin (by then the process is in its
// cgroups), then burns cpu in n goroutines, each locked to its own thread,
// for d.
func burnThreads(n int, d time.Duration) {
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), n))
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	var total atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			x := 0
			for time.Now().Before(end) {
				for i := 0; i < 1e5; i++ {
					x += i
				}
			}
			total.Add(int64(x))
		}()
	}
	wg.Wait()
	fmt.Println(total.Load() != 0)
}

// TestRealCgroupV1Throttling puts a child burning cpu in 2 threads for
// 1.5 s into a v1 cgroup with cpu.cfs_quota_us = 20000 (0.2 core) and
// checks what ReadCgroup reports over that interval: most CFS periods
// throttled, and a CPUDemand well above the usage. The cgroups are removed
// once the child has exited.
func TestRealCgroupV1Throttling(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups (run the tests as root to exercise the kernel)")
	}
	cfg, err := Detect("cgroup-v1", "")
	if err != nil || cfg.V1.CPU == "" || cfg.V1.CPUAcct == "" {
		t.Skipf("no cgroup v1 cpu and cpuacct hierarchies on this host: %v", err)
	}
	rel := fmt.Sprintf("allot-usage-throttle-%d/burn", os.Getpid())
	mounts := []string{cfg.V1.CPU, cfg.V1.Memory}
	if cfg.V1.CPUAcctSeparate() {
		mounts = append(mounts, cfg.V1.CPUAcct)
	}
	if cfg.V1.Blkio != "" {
		mounts = append(mounts, cfg.V1.Blkio)
	}
	var dirs []string
	for _, m := range mounts {
		d := filepath.Join(m, rel)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	t.Cleanup(func() { // runs after the child is reaped (cleanups run last-registered first)
		for _, d := range dirs {
			for _, x := range []string{d, filepath.Dir(d)} {
				if err := syscall.Rmdir(x); err != nil && !errors.Is(err, syscall.ENOENT) {
					t.Errorf("removing cgroup %s: %v", x, err)
				}
			}
		}
	})
	cpuDir := filepath.Join(cfg.V1.CPU, rel)
	for f, v := range map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "20000"} {
		if err := os.WriteFile(filepath.Join(cpuDir, f), []byte(v), 0o644); err != nil {
			t.Fatalf("writing %s: %v", f, err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), burnEnv+"=throttle")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			t.Fatalf("moving the child into %s: %v", d, err)
		}
	}
	r := New(cfg)
	t0 := time.Now()
	if _, err := r.ReadCgroup("burn", rel, "", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	// While it burns: its two threads wait for the CPU they are denied.
	time.Sleep(time.Second)
	mid, err := r.ReadCgroup("burn", rel, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after 1 s: cpu %.0f millicores, waiting %.0f millicores (measured %v)", mid.Value[bidding.CPU], mid.Waiting, mid.HaveWaiting)
	if !mid.HaveWaiting || mid.Waiting < 2*mid.Value[bidding.CPU] {
		t.Errorf("waiting %.0f (measured %v): want the runnable time denied, well above (2×) the usage %.0f", mid.Waiting, mid.HaveWaiting, mid.Value[bidding.CPU])
	}
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	u, err := r.ReadCgroup("burn", rel, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cpu := u.Value[bidding.CPU]
	t.Logf("over %v: cpu %.0f millicores, throttled %.0f millicores, %.0f%% of CFS periods throttled, CPUDemand %.0f millicores, CPULimit %d millicores, MemoryLimit %d",
		time.Since(t0).Round(time.Millisecond), cpu, u.Throttled, 100*u.ThrottledPeriods, u.CPUDemand(), u.CPULimit, u.MemoryLimit)
	if !u.Have[bidding.CPU] || !u.HaveThrottled {
		t.Fatalf("cpu measured %v, throttling measured %v: want both", u.Have[bidding.CPU], u.HaveThrottled)
	}
	if u.CPULimit != 200 {
		t.Errorf("CPULimit %d, want the 200 millicores written", u.CPULimit)
	}
	if u.ThrottledPeriods <= 0.5 {
		t.Errorf("ThrottledPeriods %.2f, want most periods throttled (> 0.5)", u.ThrottledPeriods)
	}
	if cpu > 300 {
		t.Errorf("cpu %.0f millicores, want about the 200 of the quota", cpu)
	}
	if u.CPUDemand() < 2*cpu {
		t.Errorf("CPUDemand %.0f, want well above (2×) the usage %.0f", u.CPUDemand(), cpu)
	}
}

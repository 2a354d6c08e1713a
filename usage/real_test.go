package usage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cgroups"
)

// burnEnv makes the test binary, run as a child, burn cpu for a bounded
// time after it reads one line on stdin (by then it is in the cgroup).
const burnEnv = "ALLOT_USAGE_TEST_BURN"

func TestMain(m *testing.M) {
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

package enforce

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func TestOOMScoreAdj(t *testing.T) {
	cases := []struct {
		reserved, domain int64
		want             int
	}{
		{0, 1 << 30, 1000},
		{1 << 28, 1 << 30, 750},
		{1 << 30, 3 << 30, 666}, // rounded down: never above the decoy at its reservation
		{1 << 30, 1 << 30, 0},
		{2 << 30, 1 << 30, 0}, // never negative: lowering it needs CAP_SYS_RESOURCE
		{1 << 20, 0, 0},       // hard limits: nothing ranked
		{-1, 1 << 30, 1000},
	}
	for _, c := range cases {
		if got := OOMScoreAdj(c.reserved, c.domain); got != c.want {
			t.Errorf("OOMScoreAdj(%d, %d) = %d, want %d", c.reserved, c.domain, got, c.want)
		}
	}
	// The kernel's badness ranks by how far above its reservation a
	// process is: 1000 × memory / domain + adj.
	const domain = 4 << 30
	badness := func(memory, reserved int64) int64 {
		return 1000*memory/domain + int64(OOMScoreAdj(reserved, domain))
	}
	if big, small := badness(2<<30, 2<<30), badness(1<<30, 512<<20); big >= small {
		t.Errorf("a service at its 2 GiB reservation ranks %d, one 512 MiB above its own %d: the borrower must be taken first", big, small)
	}
}

// TestBorrowFiles checks what both drivers write when memory is borrowed:
// the node's memory as the hard limit, the allocation as the soft limit
// (v1) or memory.low (v2), and every process of the cgroup ranked.
func TestBorrowFiles(t *testing.T) {
	const domain = 1 << 30 // 1 GiB
	for _, v := range []string{"v1", "v2"} {
		t.Run(v, func(t *testing.T) {
			root, proc := t.TempDir(), t.TempDir()
			b := Borrow{Domain: domain, Proc: proc}
			svcDir := filepath.Join(root, "allot", "web")
			d := NewCgroupV2(root, CgroupConfig{Parent: "/allot", Borrow: b})
			if v == "v1" {
				svcDir = filepath.Join(root, "memory", "allot", "web")
				d = NewCgroupV1(fakeV1(root, false), CgroupConfig{Parent: "/allot", Borrow: b})
			} else {
				files(t, root, map[string]string{"cgroup.controllers": "cpu memory"})
			}
			files(t, proc, map[string]string{"41/oom_score_adj": "0", "42/oom_score_adj": "0"})
			files(t, svcDir, map[string]string{"cgroup.procs": "41\n42\n43\n"}) // 43 has exited
			if err := d.Apply(context.Background(), []bidding.Allocation{alloc("web", 100, mib256, 0), alloc("idle", 100, 0, 0)}); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"allot/web/memory.low":  "268435456",
				"allot/web/memory.high": "max",
				"allot/web/memory.max":  "1073741824",
				"allot/idle/memory.max": "max",
			}
			if v == "v1" {
				want = map[string]string{
					"memory/allot/web/memory.soft_limit_in_bytes":  "268435456",
					"memory/allot/web/memory.limit_in_bytes":       "1073741824",
					"memory/allot/idle/memory.limit_in_bytes":      "-1",
					"memory/allot/idle/memory.soft_limit_in_bytes": "-1",
				}
			}
			checkTree(t, root, want, nil)
			checkTree(t, proc, map[string]string{"41/oom_score_adj": "750", "42/oom_score_adj": "750"}, []string{"43/"})
		})
	}
}

// TestBorrowOffLeavesProcesses: with hard limits no process is ranked and
// v2's memory.low is not written.
func TestBorrowOffLeavesProcesses(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"cgroup.controllers": "cpu memory", "allot/web/cgroup.procs": "41\n"})
	d := NewCgroupV2(root, CgroupConfig{Parent: "/allot", Borrow: Borrow{Proc: filepath.Join(root, "no-proc")}})
	if err := d.Apply(context.Background(), []bidding.Allocation{alloc("web", 100, mib256, 0)}); err != nil {
		t.Fatal(err)
	}
	checkTree(t, root, map[string]string{"allot/web/memory.max": "268435456"}, []string{"allot/web/memory.low", "no-proc/"})
	if _, err := os.Stat(filepath.Join(root, "no-proc")); !os.IsNotExist(err) {
		t.Errorf("procfs touched with borrowing off: %v", err)
	}
}

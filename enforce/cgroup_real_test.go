package enforce

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// These tests write the host's real cgroup hierarchies, under a parent
// named after the test process, and remove every directory they create.

func realLayout(t *testing.T) Layout {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: creating cgroups needs root (run the tests as root to exercise the kernel)")
	}
	l, err := DetectFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testParent(t *testing.T) string {
	return fmt.Sprintf("/allot-test-%d-%s", os.Getpid(), strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
}

// removeCgroups rmdirs parent/rel in each hierarchy, deepest first, then
// parent itself, at the end of the test. A real cgroup directory can only
// be removed with rmdir (its control files are not files to delete).
func removeCgroups(t *testing.T, roots []string, parent string, rels ...string) {
	t.Cleanup(func() {
		for _, root := range roots {
			if root == "" {
				continue
			}
			dirs := []string{}
			for _, r := range rels {
				for d := r; d != "." && d != "/"; d = filepath.Dir(d) {
					dirs = append(dirs, filepath.Join(root, parent, d))
				}
			}
			dirs = append(dirs, filepath.Join(root, parent))
			for _, d := range dirs {
				if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTEMPTY) {
					t.Errorf("cleaning up cgroup %s: %v", d, err)
				}
			}
			if _, err := os.Stat(filepath.Join(root, parent)); err == nil {
				t.Errorf("cgroup %s is left behind", filepath.Join(root, parent))
			}
		}
	})
}

func readTrim(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// pageDown is what the kernel keeps of a memory limit: whole pages.
func pageDown(n int64) string {
	p := int64(os.Getpagesize())
	return strconv.FormatInt(n/p*p, 10)
}

// wholeDisk is a real block device to throttle (blkio refuses partitions).
func wholeDisk() []Device {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/block", n, "dev"))
		if err != nil {
			continue
		}
		if d, err := ParseDevice(string(b)); err == nil {
			return []Device{d}
		}
	}
	return nil
}

func TestCgroupV1Real(t *testing.T) {
	l := realLayout(t)
	if !l.V1OK() {
		t.Skipf("skipped: %s", l.NoV1())
	}
	parent := testParent(t)
	removeCgroups(t, []string{l.V1.CPU, l.V1.CPUAcct, l.V1.Memory, l.V1.Blkio}, parent, "web", "team/db")
	devs := wholeDisk()
	if l.V1.Blkio == "" {
		devs = nil
	}
	d := NewCgroupV1(l.V1, CgroupConfig{Parent: parent, Devices: devs, Resolver: Targets{"db": {Cgroup: "team/db"}}})
	ctx := context.Background()
	web := filepath.Join(parent, "web")
	check := func(file, want string) {
		t.Helper()
		if got := readTrim(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	for i := 0; i < 2; i++ { // the second apply must change nothing
		if err := d.Apply(ctx, []bidding.Allocation{alloc("web", 250, mib256, 1<<20), alloc("db", 1500, 0, 0)}); err != nil {
			t.Fatal(err)
		}
		check(filepath.Join(l.V1.CPU, web, "cpu.cfs_period_us"), "100000")
		check(filepath.Join(l.V1.CPU, web, "cpu.cfs_quota_us"), "25000")
		check(filepath.Join(l.V1.CPU, parent, "team/db/cpu.cfs_quota_us"), "150000")
		check(filepath.Join(l.V1.Memory, web, "memory.limit_in_bytes"), pageDown(mib256))
		check(filepath.Join(l.V1.Memory, web, "memory.soft_limit_in_bytes"), pageDown(high256))
		if len(devs) > 0 {
			check(filepath.Join(l.V1.Blkio, web, "blkio.throttle.read_bps_device"), devs[0].String()+" 1048576")
			check(filepath.Join(l.V1.Blkio, web, "blkio.throttle.write_bps_device"), devs[0].String()+" 1048576")
		}
	}
	if l.V1.CPUAcctSeparate() { // usage reads cpu time there: the driver made it
		if _, err := os.Stat(filepath.Join(l.V1.CPUAcct, web, "cpuacct.usage")); err != nil {
			t.Errorf("cpuacct is a separate hierarchy and the service's cgroup is not in it: %v", err)
		}
	}
	unlimited := readTrim(t, filepath.Join(l.V1.Memory, "memory.limit_in_bytes")) // the root's: no limit
	check(filepath.Join(l.V1.Memory, parent, "team/db/memory.limit_in_bytes"), unlimited)

	// Zero lifts every limit again.
	if err := d.Apply(ctx, []bidding.Allocation{alloc("web", 0, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	check(filepath.Join(l.V1.CPU, web, "cpu.cfs_quota_us"), "-1")
	check(filepath.Join(l.V1.Memory, web, "memory.limit_in_bytes"), unlimited)
	if len(devs) > 0 {
		check(filepath.Join(l.V1.Blkio, web, "blkio.throttle.read_bps_device"), "")
	}
	t.Logf("v1 at cpu=%s memory=%s blkio=%s, io devices %v: limits written and read back", l.V1.CPU, l.V1.Memory, l.V1.Blkio, devs)
}

// TestCgroupV1RealLoweringMemoryDoesNotKill: a process holding 64 MiB of
// anonymous memory (no swap to push it to) is in the cgroup; lowering its
// limit to 16 MiB is refused by the kernel, reported naming the file, the
// old limit stays and the process lives.
func TestCgroupV1RealLoweringMemoryDoesNotKill(t *testing.T) {
	l := realLayout(t)
	if !l.V1OK() {
		t.Skipf("skipped: %s", l.NoV1())
	}
	if s := readTrim(t, "/proc/swaps"); strings.Count(s, "\n") > 0 {
		t.Skip("skipped: swap is on, so the kernel could page the memory out instead of refusing")
	}
	parent := testParent(t)
	removeCgroups(t, []string{l.V1.CPU, l.V1.CPUAcct, l.V1.Memory}, parent, "hog")
	log, buf := logBuf()
	d := NewCgroupV1(l.V1, CgroupConfig{Parent: parent, Log: log})
	ctx := context.Background()
	if err := d.Apply(ctx, []bidding.Allocation{alloc("hog", 0, mib256, 0)}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(l.V1.Memory, parent, "hog")

	hog := exec.Command(os.Args[0], "-test.run=^TestMemoryHogHelper$")
	hog.Env = append(os.Environ(), "ALLOT_TEST_MEMORY_HOG=1")
	in, _ := hog.StdinPipe()
	out, _ := hog.StdoutPipe()
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = hog.Process.Kill(); _ = hog.Wait() }) // before the rmdirs
	if err := writeValue(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(hog.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("memory hog: %q %v", line, err)
	}
	usage := readTrim(t, filepath.Join(dir, "memory.usage_in_bytes"))

	err = d.Apply(ctx, []bidding.Allocation{alloc("hog", 0, 16<<20, 0)})
	errHas(t, err, "memory.limit_in_bytes kept its old value", "device or resource busy")
	if got := readTrim(t, filepath.Join(dir, "memory.limit_in_bytes")); got != pageDown(mib256) {
		t.Errorf("limit is %s after a refused lowering, want the old %s", got, pageDown(mib256))
	}
	if got := readTrim(t, filepath.Join(dir, "memory.soft_limit_in_bytes")); got != pageDown(memoryHigh(16<<20)) {
		t.Errorf("soft limit %s, want it lowered first to %s", got, pageDown(memoryHigh(16<<20)))
	}
	if err := hog.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process in the cgroup died: %v", err)
	}
	if oc := readTrim(t, filepath.Join(dir, "memory.oom_control")); strings.Contains(oc, "oom_kill ") && !strings.Contains(oc, "oom_kill 0") {
		t.Errorf("the kernel OOM-killed in the cgroup: %s", oc)
	}
	if !strings.Contains(buf.String(), "refused to lower the memory limit") {
		t.Errorf("no warning logged: %s", buf.String())
	}
	t.Logf("usage %s bytes, lowering to 16 MiB refused: %v", usage, err)
}

// TestMemoryHogHelper is the process TestCgroupV1RealLoweringMemoryDoesNotKill
// starts: after "go" on stdin it holds 64 MiB, says "ready" and waits for
// stdin to close. Run directly it does nothing.
func TestMemoryHogHelper(t *testing.T) {
	if os.Getenv("ALLOT_TEST_MEMORY_HOG") != "1" {
		t.Skip("helper process for TestCgroupV1RealLoweringMemoryDoesNotKill")
	}
	r := bufio.NewReader(os.Stdin)
	if _, err := r.ReadString('\n'); err != nil {
		os.Exit(1)
	}
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, r)
	fmt.Fprint(io.Discard, b[len(b)-4096])
	os.Exit(0)
}

func TestCgroupV2Real(t *testing.T) {
	l := realLayout(t)
	if l.V2 == "" {
		t.Skipf("skipped: %s", l.NoV2)
	}
	parent := testParent(t)
	removeCgroups(t, []string{l.V2}, parent, "web")
	d := NewCgroupV2(l.V2, CgroupConfig{Parent: parent})
	for i := 0; i < 2; i++ {
		if err := d.Apply(context.Background(), []bidding.Allocation{alloc("web", 250, mib256, 0)}); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(l.V2, parent, "web")
		for f, want := range map[string]string{"cpu.max": "25000 100000", "memory.max": pageDown(mib256), "memory.high": pageDown(high256)} {
			if got := readTrim(t, filepath.Join(dir, f)); got != want {
				t.Errorf("%s = %q, want %q", f, got, want)
			}
		}
	}
}

// TestNewRealHost: on this host, auto picks the hierarchy that has cpu and
// memory and can write it; cgroup-v2 asked for where v2 lacks them is an
// error naming why.
func TestNewRealHost(t *testing.T) {
	l := realLayout(t)
	ctx := context.Background()
	if l.V2 == "" {
		_, err := New(ctx, Options{Mode: "cgroup-v2", Parent: testParent(t)})
		errHas(t, err, `enforce = "cgroup-v2"`, "cgroup v2 is not usable")
		t.Logf("cgroup-v2 refused: %v", err)
	}
	if l.V2 == "" && !l.V1OK() {
		t.Skip("skipped: no usable cgroup hierarchy here")
	}
	parent := testParent(t)
	removeCgroups(t, []string{l.V2, l.V1.CPU, l.V1.CPUAcct, l.V1.Memory, l.V1.Blkio}, parent)
	d, err := New(ctx, Options{Mode: "auto", Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := d.(*Multi)
	if !ok {
		t.Fatalf("auto gave %T %s, want cgroups and tc", d, d.Name())
	}
	defer m.Close()
	want := "cgroup-v1+tc"
	if l.V2 != "" {
		want = "cgroup-v2+tc"
	}
	if m.Name() != want {
		t.Fatalf("auto picked %s, want %s", m.Name(), want)
	}
	t.Logf("auto picked %s", m.Name())
}

package kerneltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/loadgen"
)

// allotBin is the static binary built once by TestMain (root only).
var (
	allotBin string
	buildErr error
)

// The test binary doubles as a shim: with shimEnv set it writes its own pid
// into each cgroup.procs file listed in procsEnv, then execs the rest of
// its command line. So loadgen is in the service's cgroups (every v1
// hierarchy) before it runs an instruction, and everything it allocates is
// charged there.
const (
	shimEnv  = "ALLOT_KERNELTEST_SHIM"
	procsEnv = "ALLOT_KERNELTEST_PROCS"
)

func TestMain(m *testing.M) {
	if os.Getenv(shimEnv) == "1" {
		shim()
	}
	code := func() int {
		if os.Geteuid() == 0 {
			dir, err := os.MkdirTemp("", "allot-kerneltest-")
			if err != nil {
				buildErr = err
			} else {
				defer os.RemoveAll(dir)
				allotBin = filepath.Join(dir, "allot")
				cmd := exec.Command("go", "build", "-o", allotBin, "github.com/allot-dev/allot/cmd/allot")
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
				if out, err := cmd.CombinedOutput(); err != nil {
					buildErr = fmt.Errorf("go build ./cmd/allot: %v\n%s", err, out)
				}
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

func shim() {
	for _, f := range strings.Split(os.Getenv(procsEnv), "\n") {
		if f == "" {
			continue
		}
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			fmt.Fprintln(os.Stderr, "kerneltest shim:", err)
			os.Exit(127)
		}
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "kerneltest shim: no command")
		os.Exit(127)
	}
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, shimEnv+"=") && !strings.HasPrefix(e, procsEnv+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], env)
	fmt.Fprintln(os.Stderr, "kerneltest shim: exec:", err)
	os.Exit(127)
}

// needRoot skips unless root, and fails if the binary did not build.
func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipped: %s needs root (run the tests as root to exercise the kernel)", what)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// v1Layout returns the host's cgroup v1 layout, or skips.
func v1Layout(t *testing.T, need ...string) enforce.Layout {
	t.Helper()
	l, err := enforce.DetectFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if !l.V1OK() {
		t.Skipf("skipped: these acceptance tests drive cgroup v1 and %s", l.NoV1())
	}
	for _, n := range need {
		if (n == "cpuacct" && l.V1.CPUAcct == "") || (n == "blkio" && l.V1.Blkio == "") {
			t.Skipf("skipped: no v1 %s hierarchy is mounted", n)
		}
	}
	return l
}

// service makes the cgroup parent/svc in every v1 hierarchy (cpu, cpuacct,
// memory, blkio; the driver creates some of them, the rest are made here),
// removes them all at the end (after the processes in them are gone: this
// cleanup is registered first, so it runs last), and returns the
// cgroup.procs files to put a process into.
func service(t *testing.T, l enforce.Layout, svc string) (parent string, procs []string) {
	t.Helper()
	parent = testParent(t, l)
	return parent, child(t, l, parent, svc)
}

// testParent makes the test's parent cgroup, /allot-kt-<pid>-<test>, in
// every v1 hierarchy, and removes it at the end: after its children (made
// by child, whose removal is registered later and so runs first).
func testParent(t *testing.T, l enforce.Layout) string {
	t.Helper()
	parent := fmt.Sprintf("/allot-kt-%d-%s", os.Getpid(), strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
	mkCgroups(t, l, parent)
	return parent
}

// child makes parent/svc in every v1 hierarchy, removes it at the end, and
// returns the cgroup.procs files to put a process into.
func child(t *testing.T, l enforce.Layout, parent, svc string) (procs []string) {
	t.Helper()
	for _, dir := range mkCgroups(t, l, filepath.Join(parent, svc)) {
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
	}
	return procs
}

// mkCgroups makes rel in every v1 hierarchy and registers its removal.
func mkCgroups(t *testing.T, l enforce.Layout, rel string) (dirs []string) {
	t.Helper()
	for _, r := range []string{l.V1.CPU, l.V1.CPUAcct, l.V1.Memory, l.V1.Blkio} {
		if d := filepath.Join(r, rel); r != "" && !contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			var err error
			for i := 0; i < 50; i++ { // a killed process leaves its cgroup a moment later
				if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil && !errors.Is(err, syscall.ENOENT) {
				t.Errorf("removing cgroup %s: %v", d, err)
			}
		}
	})
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dirs
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// proc is a running loadgen and the lines it printed so far.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []loadgen.Line
	stderr bytes.Buffer
	done   chan struct{}
}

// start runs `allot loadgen args...`: through the shim into the cgroups
// whose procs files are given, or with `ip netns exec ns` when ns is set.
// It is stopped (SIGTERM to its process group, then SIGKILL) at cleanup.
func start(t *testing.T, procs []string, ns string, args ...string) *proc {
	t.Helper()
	argv := append([]string{allotBin, "loadgen"}, args...)
	var cmd *exec.Cmd
	switch {
	case ns != "":
		cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	default:
		cmd = exec.Command(os.Args[0], argv...)
		cmd.Env = append(os.Environ(), shimEnv+"=1", procsEnv+"="+strings.Join(procs, "\n"))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &syncWriter{mu: &p.mu, w: &p.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		t0 := time.Now()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Logf("loadgen %v did not stop within 5 s of SIGTERM: killed", args)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		_ = cmd.Wait()
		if d := time.Since(t0); d > time.Second {
			t.Logf("loadgen %v took %v to stop", args, d.Round(time.Millisecond))
		}
	})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l loadgen.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				p.mu.Lock()
				fmt.Fprintf(&p.stderr, "(not a line: %q)\n", sc.Text())
				p.mu.Unlock()
				continue
			}
			p.mu.Lock()
			p.lines = append(p.lines, l)
			p.mu.Unlock()
		}
	}()
	return p
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// alive fails the test if the process has exited.
func (p *proc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Fatalf("loadgen exited: %s", p.stderr.String())
	default:
	}
}

// window averages loadgen's figures of r over the steps that lie wholly in
// [from, to] (weighted by their length): asked, got, and how many steps.
func (p *proc) window(t *testing.T, r bidding.Resource, from, to time.Time) (asked, got float64, n int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var secs float64
	for _, l := range p.lines {
		end, err := time.Parse(time.RFC3339Nano, l.T)
		if err != nil {
			t.Fatal(err)
		}
		begin := end.Add(-time.Duration(l.Secs * float64(time.Second)))
		if begin.Before(from) || end.After(to) {
			continue
		}
		a, _ := l.Asked.Get(r)
		g, ok := l.Got.Get(r)
		if !ok {
			continue
		}
		if len(l.Errors) > 0 {
			t.Logf("loadgen step %d: %v", l.Step, l.Errors)
		}
		asked += a * l.Secs
		got += g * l.Secs
		secs += l.Secs
		n++
	}
	if n == 0 {
		t.Fatalf("no loadgen step between %s and %s (%d lines; stderr %s)", from.Format(time.StampMilli), to.Format(time.StampMilli), len(p.lines), p.stderr.String())
	}
	return asked / secs, got / secs, n
}

// last is the latest line.
func (p *proc) last() (loadgen.Line, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lines) == 0 {
		return loadgen.Line{}, false
	}
	return p.lines[len(p.lines)-1], true
}

func within(got, want, tol float64) bool { return got >= want*(1-tol) && got <= want*(1+tol) }

func readTrim(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

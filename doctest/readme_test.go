//go:build doctest

package doctest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestREADME runs every shell block of README.md, in order, as a reader
// pasting them would: in one scratch directory, with the binary as both
// `allot` and `./bin/allot`, each block under bash -e so any failing line
// fails the test. Ports are moved to free ones (the CLI's default address
// with them, through ALLOT_HTTP_ADDR); /tmp/allot to a temp dir.
// Blocks marked `<!-- doctest: skip: REASON -->` are left out (the reason is logged).
func TestREADME(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := ShellBlocks(string(readme))
	if len(blocks) < 5 {
		t.Fatalf("only %d shell blocks found in README.md", len(blocks))
	}

	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	allot := filepath.Join(bin, "allot")
	build := exec.Command("go", "build", "-o", allot, "./cmd/allot")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building allot: %v\n%s", err, out)
	}
	// `make build` in a recipe: the binary is already built.
	writeExec(t, filepath.Join(bin, "make"), "#!/bin/sh\n[ \"$1\" = build ] && exit 0\necho \"doctest: make $* is not available here\" >&2; exit 1\n")
	// Recipes read the repository's files (demo/data/…) by relative path.
	for _, d := range []string{"demo", "deploy"} {
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(work, d)); err != nil {
			t.Fatal(err)
		}
	}
	ports := newPortMap(t)
	scratch := filepath.Join(work, "tmp-allot")

	var groups []int // process groups to stop at the end (agents started with &)
	t.Cleanup(func() {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
			for _, pg := range groups {
				_ = syscall.Kill(-pg, sig)
			}
			if sig == syscall.SIGINT {
				time.Sleep(2 * time.Second)
			}
		}
	})
	ran := 0
	for _, b := range blocks {
		name := fmt.Sprintf("README.md:%d", b.Line)
		if why := b.Skip(); why != "" { // may hold placeholders such as <SecretID>
			t.Logf("%s: skipped (%s)", name, why)
			continue
		}
		if err := syntaxCheck(b.Text); err != nil {
			t.Errorf("%s: not valid shell: %v", name, err)
			continue
		}
		script := ports.rewrite(strings.ReplaceAll(b.Text, "/tmp/allot/", scratch+"/"))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = work
		// The CLI's default address (127.0.0.1:7480) moves with the port map.
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ALLOT_HTTP_ADDR="+ports.rewrite("127.0.0.1:7480"), "ALLOT_TOKEN=")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		// Background agents keep the pipes open: write to a file instead.
		logPath := filepath.Join(work, fmt.Sprintf("block-%d.log", b.Line))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		groups = append(groups, cmd.Process.Pid)
		err = cmd.Wait()
		cancel()
		logf.Close()
		out, _ := os.ReadFile(logPath)
		if err != nil {
			t.Fatalf("%s failed: %v\n--- script ---\n%s\n--- output ---\n%s%s", name, err, script, tail(string(out), 80), agentLogs(work))
		}
		t.Logf("%s: ok\n%s", name, tail(string(out), 30))
		ran++
	}
	if ran < 3 {
		t.Fatalf("only %d blocks ran", ran)
	}
	t.Logf("%d shell blocks ran, %d skipped with a reason", ran, len(blocks)-ran)
}

// agentLogs is the tail of every log a recipe wrote (agents started with
// "> x.log &"), for a failure's message.
func agentLogs(dir string) string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		if strings.HasPrefix(filepath.Base(l), "block-") {
			continue
		}
		out, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "\n--- %s ---\n%s", filepath.Base(l), tail(string(out), 30))
	}
	return b.String()
}

func writeExec(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func syntaxCheck(script string) error {
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// portMap moves the README's port ranges — 8501-8503 HTTP, 8601-8603
// gossip, 8701-8703 Raft (written as 8500+i …), 7480-7482 the defaults —
// to free ranges: a port P of a range B..B+9 becomes P-B plus the new base.
type portMap struct{ base map[int]int }

func newPortMap(t *testing.T) *portMap {
	t.Helper()
	m := &portMap{base: map[int]int{}}
	used := map[int]bool{}
	for _, b := range []int{8500, 8600, 8700, 7480} {
		m.base[b] = freeBase(t, used)
	}
	return m
}

// freeBase finds a base B such that B+1..B+9 are free TCP and UDP ports
// (gossip uses both), below the kernel's ephemeral range, so an outgoing
// connection of another process cannot take one before the agent binds it.
func freeBase(t *testing.T, used map[int]bool) int {
	t.Helper()
	for try := 0; try < 500; try++ {
		b := 20000 + 10*rand.IntN(1200) // 20000-31990
		if used[b] {
			continue
		}
		ok := true
		for i := 0; i <= 9 && ok; i++ {
			ok = portFree(b + i)
		}
		if ok {
			used[b] = true
			return b
		}
	}
	t.Fatal("no free port range found")
	return 0
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// rewrite replaces every 4-digit number of a mapped range that stands
// alone (not part of a longer number) by the same offset from its new base.
func (m *portMap) rewrite(s string) string {
	var b strings.Builder
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(s); {
		if i+4 <= len(s) && (i == 0 || !isDigit(s[i-1])) && (i+4 == len(s) || !isDigit(s[i+4])) {
			if n, err := strconv.Atoi(s[i : i+4]); err == nil && isDigit(s[i]) {
				if nb, ok := m.base[n-n%10]; ok {
					b.WriteString(strconv.Itoa(nb + n%10))
					i += 4
					continue
				}
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

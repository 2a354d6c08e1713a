// Package fakefs writes the fake kernel trees tests stand in for cgroupfs,
// procfs and mountinfo with: one helper, not a copy per package.
package fakefs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files writes rel path -> content under root, creating directories.
func Files(t testing.TB, root string, m map[string]string) {
	t.Helper()
	for rel, v := range m {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Mountinfo writes a fake mountinfo under root whose lines name mount
// points with ROOT standing for root ("ROOT/cpu - cgroup cgroup rw,cpu"),
// and returns its path.
func Mountinfo(t testing.TB, root string, lines ...string) string {
	t.Helper()
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%d 1 0:%d / %s\n", 100+i, 50+i, strings.ReplaceAll(l, "ROOT", root))
	}
	p := filepath.Join(root, "mountinfo")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

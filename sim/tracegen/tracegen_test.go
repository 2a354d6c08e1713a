package tracegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDeterministic: the same options write the same bytes; another seed
// writes other bytes; every kind has the documented columns.
func TestDeterministic(t *testing.T) {
	for _, k := range Kinds() {
		a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
		for dir, seed := range map[string]uint64{a: 1, b: 1, c: 2} {
			if _, err := Generate(dir, Options{Kind: k, Files: 2, Days: 1, Seed: seed}); err != nil {
				t.Fatal(err)
			}
		}
		name := k + "_vm02.csv"
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		z, _ := os.ReadFile(filepath.Join(c, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: not deterministic", k)
		}
		if bytes.Equal(x, z) {
			t.Errorf("%s: seed ignored", k)
		}
		if !bytes.HasPrefix(x, []byte("timestamp,cpu,memory,disk_read_kbs,net_in_kbs\n")) {
			t.Errorf("%s: header %q", k, x[:50])
		}
		if n := bytes.Count(x, []byte("\n")); n != 289 {
			t.Errorf("%s: %d lines, want 289", k, n)
		}
	}
	if _, err := Generate(t.TempDir(), Options{Kind: "nope"}); err == nil {
		t.Error("unknown kind accepted")
	}
}

package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteProbe(t *testing.T) {
	dir := t.TempDir()
	if err := writeProbe(filepath.Join(dir, "p")); err != nil {
		t.Fatalf("writable dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p")); !os.IsNotExist(err) {
		t.Fatal("probe file left behind")
	}
	if err := writeProbe(filepath.Join(dir, "missing", "p")); err == nil {
		t.Fatal("a missing directory reported writable")
	}
}

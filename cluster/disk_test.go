package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
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

// Finding 13 of issue 13: a failed snapshot's .tmp folder is removed when
// the server starts, finished snapshots are kept.
func TestTempSnapshotsRemoved(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "snapshots", "2-10-123.tmp")
	done := filepath.Join(dir, "snapshots", "2-9-100")
	for _, d := range []string{tmp, done} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(tmp, "state.bin"), []byte("half"), 0o600)
	removeTempSnapshots(dir, hclog.NewNullLogger())
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("unfinished snapshot left: %v", err)
	}
	if _, err := os.Stat(done); err != nil {
		t.Fatalf("finished snapshot removed: %v", err)
	}
}

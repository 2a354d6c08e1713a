package enforce

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/waitfor"
)

// TestDecoyRestartsAfterAKill: a decoy killed by SIGKILL is counted and
// started again; one that exits otherwise is started again uncounted; Run
// returns once ctx ends.
func TestDecoyRestartsAfterAKill(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		killed bool
	}{
		{"killed", "kill -9 $$", true},
		{"exits", "exit 3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kills, starts atomic.Int64
			marker := filepath.Join(t.TempDir(), "starts")
			d := &Decoy{Argv: []string{"/bin/sh", "-c", "echo >> " + marker + "; " + tc.script}, Killed: func() { kills.Add(1) }}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); d.Run(ctx) }()
			waitfor.True(t, "the decoy started three times", 30*time.Second, func() bool {
				b, _ := os.ReadFile(marker)
				starts.Store(int64(len(b)))
				return starts.Load() >= 3
			})
			cancel()
			<-done
			if got := kills.Load(); tc.killed && got < 2 || !tc.killed && got != 0 {
				t.Errorf("%d kills counted over %d starts", got, starts.Load())
			}
		})
	}
}

// TestDecoyCgroup: the decoy's cgroup is made under the parent in the
// memory hierarchy only, for v1 and v2, and Multi finds it.
func TestDecoyCgroup(t *testing.T) {
	root := t.TempDir()
	v1 := NewCgroupV1(fakeV1(root, false), CgroupConfig{Parent: "/allot"})
	m := &Multi{Drivers: []Driver{&DryRun{}, v1}}
	join, err := m.DecoyCgroup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(fakeV1(root, false).Memory, "allot", DecoyCgroupName, "cgroup.procs")
	if len(join) != 1 || join[0] != want {
		t.Fatalf("v1 decoy cgroup %v, want [%s]", join, want)
	}
	if _, err := os.Stat(filepath.Dir(want)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fakeV1(root, false).CPU, "allot", DecoyCgroupName)); !os.IsNotExist(err) {
		t.Errorf("the decoy's cgroup made in the cpu hierarchy too (%v): it only needs memory", err)
	}
	root2 := t.TempDir()
	files(t, root2, map[string]string{"cgroup.controllers": "cpu memory"})
	join, err = NewCgroupV2(root2, CgroupConfig{Parent: "/allot"}).DecoyCgroup(context.Background())
	if want := filepath.Join(root2, "allot", DecoyCgroupName, "cgroup.procs"); err != nil || len(join) != 1 || join[0] != want {
		t.Errorf("v2 decoy cgroup %v (%v), want [%s]", join, err, want)
	}
	if join, err := (&Multi{Drivers: []Driver{&DryRun{}}}).DecoyCgroup(context.Background()); join != nil || err != nil {
		t.Errorf("a driver without cgroups: %v, %v; want none", join, err)
	}
}

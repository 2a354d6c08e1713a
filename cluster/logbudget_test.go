package cluster

import (
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func sized(from uint64, sizes ...int) []*raft.Log {
	out := make([]*raft.Log, len(sizes))
	for i, n := range sizes {
		out[i] = &raft.Log{Index: from + uint64(i), Type: raft.LogCommand, Data: make([]byte, n)}
	}
	return out
}

func TestLogSizesFollowsStoreAndDelete(t *testing.T) {
	type op struct {
		store  []*raft.Log
		lo, hi uint64 // DeleteRange when store is nil
	}
	tests := []struct {
		name       string
		seedFirst  uint64
		seed       []uint32
		ops        []op
		wantAfter0 int64 // bytes of every known entry
		wantAfter5 int64
	}{
		{"appends", 0, nil, []op{{store: sized(1, 10, 20, 30)}, {store: sized(4, 40, 50, 60)}}, 210, 60},
		{"seeded then appended", 3, []uint32{100, 100}, []op{{store: sized(5, 1, 2)}}, 203, 2},
		{"compaction drops a prefix", 0, nil, []op{{store: sized(1, 10, 20, 30, 40, 50, 60)}, {lo: 1, hi: 4}}, 110, 60},
		{"compaction of everything", 0, nil, []op{{store: sized(1, 10, 20)}, {lo: 1, hi: 2}}, 0, 0},
		{"conflict deletes a suffix, then rewritten", 0, nil, []op{{store: sized(1, 10, 20, 30, 40)}, {lo: 3, hi: 4}, {store: sized(3, 7, 8, 9)}}, 54, 0},
		{"rewrite without a delete truncates", 0, nil, []op{{store: sized(1, 10, 20, 30, 40)}, {store: sized(2, 5)}}, 15, 0},
		{"a gap forgets what came before", 0, nil, []op{{store: sized(1, 10, 20)}, {store: sized(10, 1, 2)}}, 3, 3},
		{"a delete outside is ignored", 0, nil, []op{{store: sized(5, 10, 20)}, {lo: 1, hi: 3}}, 30, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newLogSizes(raft.NewInmemStore(), tc.seedFirst, tc.seed)
			for _, o := range tc.ops {
				var err error
				if o.store != nil {
					err = s.StoreLogs(o.store)
				} else {
					err = s.DeleteRange(o.lo, o.hi)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := s.after(0); got != tc.wantAfter0 {
				t.Errorf("after(0) = %d, want %d", got, tc.wantAfter0)
			}
			if got := s.after(5); got != tc.wantAfter5 {
				t.Errorf("after(5) = %d, want %d", got, tc.wantAfter5)
			}
		})
	}
}

func TestLogSizesNewestWithin(t *testing.T) {
	s := newLogSizes(raft.NewInmemStore(), 1, []uint32{50, 40, 30, 20, 10})
	for _, tc := range []struct {
		budget  int64
		wantN   uint64
		wantAll bool
	}{{0, 0, false}, {10, 1, false}, {35, 2, false}, {60, 3, false}, {149, 4, false}, {150, 5, true}, {1000, 5, true}} {
		if n, all := s.newestWithin(tc.budget); n != tc.wantN || all != tc.wantAll {
			t.Errorf("newestWithin(%d) = %d, %v; want %d, %v", tc.budget, n, all, tc.wantN, tc.wantAll)
		}
	}
}

// fakeBudgetRaft records what the loop asks of raft.
type fakeBudgetRaft struct {
	snapIdx   uint64
	snapshots int
	snapErr   error
	rc        raft.ReloadableConfig
}

func (f *fakeBudgetRaft) Stats() map[string]string {
	return map[string]string{"last_snapshot_index": strconv.FormatUint(f.snapIdx, 10)}
}
func (f *fakeBudgetRaft) Snapshot() raft.SnapshotFuture {
	f.snapshots++
	return snapFuture{f.snapErr}
}
func (f *fakeBudgetRaft) ReloadableConfig() raft.ReloadableConfig { return f.rc }
func (f *fakeBudgetRaft) ReloadConfig(rc raft.ReloadableConfig) error {
	f.rc = rc
	return nil
}

type snapFuture struct{ err error }

func (s snapFuture) Error() error { return s.err }
func (s snapFuture) Open() (*raft.SnapshotMeta, io.ReadCloser, error) {
	return nil, nil, errors.New("not here")
}

func TestLogBudgetStep(t *testing.T) {
	const mib = 1 << 20
	big := func(n int) []uint32 { // n entries of 1 MiB
		out := make([]uint32, n)
		for i := range out {
			out[i] = mib
		}
		return out
	}
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name          string
		sizes         []uint32 // from index 1
		snapIdx       uint64
		lastSnapAgo   time.Duration
		snapTook      time.Duration
		snapErr       error
		wantSnapshots int
		wantTrailing  uint64
	}{
		{"small log: nothing to do, trailing stays", []uint32{100, 200}, 0, time.Hour, 0, nil, 0, 16384},
		{"over budget after the snapshot: snapshot", big(20), 2, time.Hour, 0, nil, 1, MinTrailingLogs},
		{"within budget after the snapshot: none", big(20), 10, time.Hour, 0, nil, 0, MinTrailingLogs},
		{"over budget but one was just taken", big(20), 2, time.Second, 0, nil, 0, MinTrailingLogs},
		{"over budget, the last took 3 s: not within 60 s of it", big(20), 2, 50 * time.Second, 3 * time.Second, nil, 0, MinTrailingLogs},
		{"over budget, the last took 3 s: 61 s later", big(20), 2, 61 * time.Second, 3 * time.Second, nil, 1, MinTrailingLogs},
		{"nothing new to snapshot is not an error", big(20), 2, time.Hour, 0, raft.ErrNothingNewToSnapshot, 1, MinTrailingLogs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeBudgetRaft{snapIdx: tc.snapIdx, snapErr: tc.snapErr, rc: raft.ReloadableConfig{TrailingLogs: 16384}}
			b := &logBudget{raft: f, sizes: newLogSizes(raft.NewInmemStore(), 1, tc.sizes), snaps: raft.NewInmemSnapshotStore(),
				trailing: 16384, floor: MinLogBudget, minGap: 5 * time.Second, lastSnap: t0.Add(-tc.lastSnapAgo), snapTook: tc.snapTook}
			if err := b.step(t0); err != nil {
				t.Fatal(err)
			}
			if f.snapshots != tc.wantSnapshots {
				t.Errorf("snapshots = %d, want %d", f.snapshots, tc.wantSnapshots)
			}
			if f.rc.TrailingLogs != tc.wantTrailing {
				t.Errorf("TrailingLogs = %d, want %d", f.rc.TrailingLogs, tc.wantTrailing)
			}
		})
	}
}

// Many small entries that do not fit the budget: TrailingLogs is the count
// that does (above the floor), never above what was configured.
func TestLogBudgetTrailingCount(t *testing.T) {
	sizes := make([]uint32, 40000)
	for i := range sizes {
		sizes[i] = 1000 // 40 MB in all; 16 MiB hold 16777
	}
	f := &fakeBudgetRaft{rc: raft.ReloadableConfig{TrailingLogs: 30000}}
	b := &logBudget{raft: f, sizes: newLogSizes(raft.NewInmemStore(), 1, sizes), snaps: raft.NewInmemSnapshotStore(),
		trailing: 30000, floor: MinLogBudget, minGap: time.Hour, lastSnap: time.Unix(1000, 0)}
	if err := b.step(time.Unix(1001, 0)); err != nil {
		t.Fatal(err)
	}
	if want := uint64(MinLogBudget / 1000); f.rc.TrailingLogs != want {
		t.Errorf("TrailingLogs = %d, want %d", f.rc.TrailingLogs, want)
	}
}

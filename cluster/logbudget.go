package cluster

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The log's byte budget (DESIGN.md "Log and snapshot sizing"). Raft bounds
// its log in entries (SnapshotThreshold, TrailingLogs), but with group
// commit an entry is anything from 200 B (one bid) to 0.7 MB (4096 bids),
// so a bound of 8192 + 16384 entries was 370 MB of raft.db at 10k
// placements, and bbolt maps that file: every page it has read back stays
// in the server's RSS. This loop bounds the log in bytes as well:
//
//   - a snapshot when the entries after the newest one hold more than the
//     budget: max(MinLogBudget, 2 × the newest snapshot's size), so writing
//     snapshots costs at most half of what the log itself writes;
//   - TrailingLogs lowered (never above the configured count, never below
//     MinTrailingLogs) to the newest entries that fit in the same budget,
//     so what a compaction leaves is bounded too.
//
// The log then holds about twice the budget at most. Raft's own checks stay
// as an upper bound in entries.
const (
	// MinLogBudget is the budget's floor: below it a snapshot is not worth
	// its cost (a small cluster's log stays within raft's entry bounds).
	MinLogBudget = 16 << 20
	// MinTrailingLogs is the fewest entries kept behind a snapshot, however
	// large they are: one replication round trip carries up to 1024.
	MinTrailingLogs = 1024
	// logBudgetEvery is how often the loop looks, and logBudgetMinGap the
	// least time between two snapshots it takes.
	logBudgetEvery  = time.Second
	logBudgetMinGap = 5 * time.Second
)

// logSizes is a LogStore that remembers each stored entry's size (Data and
// Extensions, what the cache counts) by index, so the loop knows the log's
// bytes without reading it. Raft appends at the end, deletes a prefix when
// it compacts and a suffix on a conflict; anything else resets what it
// knows to the entries stored afterwards.
type logSizes struct {
	raft.LogStore
	mu    sync.Mutex
	first uint64   // index of sizes[0]
	sizes []uint32 // consecutive entries from first
}

func newLogSizes(store raft.LogStore, first uint64, sizes []uint32) *logSizes {
	return &logSizes{LogStore: store, first: first, sizes: sizes}
}

// IsMonotonic passes the store's answer through (raft.MonotonicLogStore).
func (s *logSizes) IsMonotonic() bool {
	if m, ok := s.LogStore.(raft.MonotonicLogStore); ok {
		return m.IsMonotonic()
	}
	return false
}

func (s *logSizes) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *logSizes) StoreLogs(logs []*raft.Log) error {
	if err := s.LogStore.StoreLogs(logs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range logs {
		end := s.first + uint64(len(s.sizes))
		switch {
		case len(s.sizes) == 0 || l.Index < s.first || l.Index > end:
			s.first, s.sizes = l.Index, s.sizes[:0]
		case l.Index < end: // rewritten
			s.sizes = s.sizes[:l.Index-s.first]
		}
		s.sizes = append(s.sizes, uint32(logBytes(l)))
	}
	return nil
}

func (s *logSizes) DeleteRange(lo, hi uint64) error {
	err := s.LogStore.DeleteRange(lo, hi)
	s.mu.Lock()
	defer s.mu.Unlock()
	end := s.first + uint64(len(s.sizes)) // one past the last known
	switch {
	case err != nil || len(s.sizes) == 0:
		// leave it: a failed delete changed nothing known
	case lo <= s.first && hi+1 >= end:
		s.sizes = s.sizes[:0]
	case lo <= s.first && hi >= s.first: // compaction: a prefix
		n := hi + 1 - s.first
		s.sizes = append(s.sizes[:0], s.sizes[n:]...)
		s.first = hi + 1
	case lo > s.first && lo < end && hi+1 >= end: // a conflicting suffix
		s.sizes = s.sizes[:lo-s.first]
	case hi < s.first || lo >= end:
		// outside what is known
	default: // a hole in the middle: raft does not do this
		s.sizes = s.sizes[:0]
	}
	return err
}

// after is the bytes of the known entries with an index above idx.
func (s *logSizes) after(idx uint64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for i := len(s.sizes) - 1; i >= 0 && s.first+uint64(i) > idx; i-- {
		n += int64(s.sizes[i])
	}
	return n
}

// newestWithin is how many of the newest known entries fit in budget
// bytes, and whether every known entry does (then the count says nothing
// about how many would fit).
func (s *logSizes) newestWithin(budget int64) (n uint64, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum int64
	for i := len(s.sizes) - 1; i >= 0; i-- {
		sum += int64(s.sizes[i])
		if sum > budget {
			return n, false
		}
		n++
	}
	return n, true
}

// logBudget is the loop's view of one server (consumed interface: the raft
// calls it makes, so that it is tested without a cluster).
type logBudgetRaft interface {
	Stats() map[string]string
	Snapshot() raft.SnapshotFuture
	ReloadableConfig() raft.ReloadableConfig
	ReloadConfig(raft.ReloadableConfig) error
}

type logBudget struct {
	raft     logBudgetRaft
	sizes    *logSizes
	snaps    raft.SnapshotStore
	trailing uint64 // the configured TrailingLogs: the most it sets
	floor    int64  // the budget's floor (MinLogBudget by default)
	minGap   time.Duration
	// state
	snapIdx  uint64
	snapSize int64
	lastSnap time.Time
	snapTook time.Duration // how long the last snapshot it took lasted
}

// budget is the byte budget for the entries after a snapshot and for those
// kept behind it.
func (b *logBudget) budget() int64 { return max(b.floor, 2*b.snapSize) }

// step looks once: what the newest snapshot is, whether the log after it
// is over budget (then it takes one), and what TrailingLogs should be.
func (b *logBudget) step(now time.Time) error {
	if idx, _ := strconv.ParseUint(b.raft.Stats()["last_snapshot_index"], 10, 64); idx != b.snapIdx {
		b.snapIdx = idx
		if metas, err := b.snaps.List(); err == nil && len(metas) > 0 {
			b.snapSize = metas[0].Size
		}
	}
	var err error
	// At most one snapshot per minGap, and snapshots at most a twentieth
	// of the time: at 100k placements one takes seconds of CPU.
	if b.sizes.after(b.snapIdx) > b.budget() && now.Sub(b.lastSnap) >= max(b.minGap, 20*b.snapTook) {
		b.lastSnap = now
		t0 := time.Now()
		serr := b.raft.Snapshot().Error()
		b.snapTook = time.Since(t0)
		if serr != nil && !errors.Is(serr, raft.ErrNothingNewToSnapshot) {
			err = serr // e.g. one already running: the next step tries again
		}
	}
	want := b.trailing
	if n, all := b.sizes.newestWithin(b.budget()); !all {
		want = min(b.trailing, max(MinTrailingLogs, n))
	}
	rc := b.raft.ReloadableConfig()
	if want != rc.TrailingLogs {
		rc.TrailingLogs = want
		if rerr := b.raft.ReloadConfig(rc); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// logBudgetLoop runs step every logBudgetEvery until ctx ends.
func (s *Server) logBudgetLoop(ctx context.Context, b *logBudget) {
	t := time.NewTicker(logBudgetEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := b.step(now); err != nil {
				s.log.Debug("log budget", "error", err)
			}
		}
	}
}

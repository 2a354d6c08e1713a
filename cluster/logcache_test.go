package cluster

import (
	"testing"

	"github.com/hashicorp/raft"
)

// countingStore is an in-memory log store that counts reads.
type countingStore struct {
	*raft.InmemStore
	reads int
}

func (s *countingStore) GetLog(idx uint64, l *raft.Log) error {
	s.reads++
	return s.InmemStore.GetLog(idx, l)
}

func entries(from, n, size int) []*raft.Log {
	var ls []*raft.Log
	for i := range n {
		ls = append(ls, &raft.Log{Index: uint64(from + i), Term: 1, Data: make([]byte, size)})
	}
	return ls
}

// TestLogCacheBounds: the cache keeps the newest entries within both
// bounds, serves them without reading the store, reads older ones from
// it, skips an entry larger than the byte bound, and empties on delete.
func TestLogCacheBounds(t *testing.T) {
	cases := []struct {
		name       string
		maxEntries int
		maxBytes   int
		stores     [][]*raft.Log
		cached     []uint64 // expected in the cache
		missed     []uint64 // expected from the store
	}{
		{"entry bound", 3, 1 << 20, [][]*raft.Log{entries(1, 5, 10)}, []uint64{3, 4, 5}, []uint64{1, 2}},
		{"byte bound", 100, 250, [][]*raft.Log{entries(1, 2, 100), entries(3, 2, 100)}, []uint64{3, 4}, []uint64{1, 2}},
		{"larger than the bound", 100, 250, [][]*raft.Log{entries(1, 1, 100), entries(2, 1, 300), entries(3, 1, 100)}, []uint64{1, 3}, []uint64{2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &countingStore{InmemStore: raft.NewInmemStore()}
			c, err := newLogCache(st, tc.maxEntries, tc.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			for _, ls := range tc.stores {
				if err := c.StoreLogs(ls); err != nil {
					t.Fatal(err)
				}
			}
			if c.bytes > tc.maxBytes || len(c.byIdx) > tc.maxEntries {
				t.Fatalf("cache holds %d entries, %d bytes", len(c.byIdx), c.bytes)
			}
			var l raft.Log
			for _, idx := range tc.cached {
				if err := c.GetLog(idx, &l); err != nil || l.Index != idx || st.reads != 0 {
					t.Fatalf("entry %d: %v, index %d, %d store reads", idx, err, l.Index, st.reads)
				}
			}
			for i, idx := range tc.missed {
				if err := c.GetLog(idx, &l); err != nil || l.Index != idx || st.reads != i+1 {
					t.Fatalf("entry %d: %v, index %d, %d store reads", idx, err, l.Index, st.reads)
				}
			}
			if err := c.DeleteRange(1, 100); err != nil {
				t.Fatal(err)
			}
			if len(c.byIdx) != 0 || c.bytes != 0 || c.GetLog(tc.cached[0], &l) == nil {
				t.Fatal("entries left after DeleteRange")
			}
		})
	}
	if _, err := newLogCache(raft.NewInmemStore(), 0, 1); err == nil {
		t.Fatal("a zero bound was accepted")
	}
}

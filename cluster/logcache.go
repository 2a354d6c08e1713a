package cluster

import (
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// Log cache bounds (see DESIGN.md "Log and snapshot sizing").
const (
	// LogCacheEntries is the most entries the cache keeps (raft's
	// LogCache had 512 and no other bound).
	LogCacheEntries = 512
	// LogCacheBytes is the most entry bytes (Data and Extensions) it
	// keeps: 512 group-committed bid entries of up to ~0.7 MB each held
	// ~200 MB at 100k placements, most of a leader's live heap after the
	// plans themselves.
	LogCacheBytes = 32 << 20
)

// logCache is raft.LogCache bounded in bytes as well as in entries: the
// most recent entries stored, oldest evicted first, so that replication
// and a follower's apply read recent entries from memory instead of
// bbolt. Reads of evicted or older entries go to the store.
type logCache struct {
	store      raft.LogStore
	maxEntries int
	maxBytes   int

	mu    sync.RWMutex
	byIdx map[uint64]*raft.Log
	fifo  []uint64 // cached indexes, oldest first
	bytes int
}

func newLogCache(store raft.LogStore, maxEntries, maxBytes int) (*logCache, error) {
	if maxEntries <= 0 || maxBytes <= 0 {
		return nil, fmt.Errorf("log cache: bounds must be positive (got %d entries, %d bytes)", maxEntries, maxBytes)
	}
	return &logCache{store: store, maxEntries: maxEntries, maxBytes: maxBytes, byIdx: map[uint64]*raft.Log{}}, nil
}

func logBytes(l *raft.Log) int { return len(l.Data) + len(l.Extensions) }

// IsMonotonic passes the store's answer through (raft.MonotonicLogStore).
func (c *logCache) IsMonotonic() bool {
	if m, ok := c.store.(raft.MonotonicLogStore); ok {
		return m.IsMonotonic()
	}
	return false
}

func (c *logCache) GetLog(idx uint64, log *raft.Log) error {
	c.mu.RLock()
	cached, ok := c.byIdx[idx]
	c.mu.RUnlock()
	if ok {
		*log = *cached
		return nil
	}
	return c.store.GetLog(idx, log)
}

func (c *logCache) StoreLog(log *raft.Log) error { return c.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores in the store, then, only on success, caches the logs.
// An entry larger than the byte bound is not cached.
func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := c.store.StoreLogs(logs); err != nil {
		return fmt.Errorf("unable to store logs within log store, err: %q", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		if old, ok := c.byIdx[l.Index]; ok { // rewritten after a conflict
			c.bytes -= logBytes(old)
			c.byIdx[l.Index] = l
			c.bytes += logBytes(l)
			continue
		}
		if logBytes(l) > c.maxBytes {
			continue
		}
		c.byIdx[l.Index] = l
		c.fifo = append(c.fifo, l.Index)
		c.bytes += logBytes(l)
	}
	for len(c.fifo) > 0 && (len(c.byIdx) > c.maxEntries || c.bytes > c.maxBytes) {
		if old, ok := c.byIdx[c.fifo[0]]; ok {
			c.bytes -= logBytes(old)
			delete(c.byIdx, c.fifo[0])
		}
		c.fifo = c.fifo[1:]
	}
	if cap(c.fifo) > 4*c.maxEntries { // reslicing from the front never frees
		c.fifo = append([]uint64(nil), c.fifo...)
	}
	return nil
}

func (c *logCache) FirstIndex() (uint64, error) { return c.store.FirstIndex() }

func (c *logCache) LastIndex() (uint64, error) { return c.store.LastIndex() }

// DeleteRange empties the cache (as raft's does), then deletes in the store.
func (c *logCache) DeleteRange(lo, hi uint64) error {
	c.mu.Lock()
	c.byIdx, c.fifo, c.bytes = map[uint64]*raft.Log{}, nil, 0
	c.mu.Unlock()
	return c.store.DeleteRange(lo, hi)
}

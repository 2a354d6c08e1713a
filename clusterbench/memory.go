package clusterbench

import (
	"bufio"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// MemoryBreakdown says where a process's resident memory is, so that an
// RSS figure over a goal can be traced to its part: anonymous memory (the
// Go heap, its unused spans, stacks, the runtime) against file pages
// mapped in (bbolt maps raft.db and reads entries through that map).
type MemoryBreakdown struct {
	// From /proc/self/status (Linux): RssAnon + RssFile + RssShmem = VmRSS.
	RSSAnonMB float64 `json:"rss_anon_mb"`
	RSSFileMB float64 `json:"rss_file_mb"`
	// From runtime/metrics at the same moment.
	HeapObjectsMB float64 `json:"heap_objects_mb"`
	// HeapUnusedMB is memory in spans that hold live objects but is not
	// itself allocated: fragmentation, which returning free memory to the
	// OS cannot release.
	HeapUnusedMB float64 `json:"heap_unused_mb"`
	// HeapFreeMB is free spans not yet returned to the OS.
	HeapFreeMB float64 `json:"heap_free_mb"`
	StacksMB   float64 `json:"stacks_mb"`
	// RuntimeOtherMB is the runtime's own metadata, profiling buckets and
	// other non-heap memory (GC bitmaps, mspans, ...).
	RuntimeOtherMB float64 `json:"runtime_other_mb"`
}

// memoryBreakdown reads both sources now.
func memoryBreakdown() MemoryBreakdown {
	var b MemoryBreakdown
	st := statusMB("RssAnon:", "RssFile:")
	b.RSSAnonMB, b.RSSFileMB = st[0], st[1]
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/os-stacks:bytes"},
		{Name: "/memory/classes/metadata/other:bytes"},
		{Name: "/memory/classes/metadata/mspan/inuse:bytes"},
		{Name: "/memory/classes/metadata/mcache/inuse:bytes"},
		{Name: "/memory/classes/profiling/buckets:bytes"},
		{Name: "/memory/classes/other:bytes"},
	}
	metrics.Read(samples)
	mb := func(i int) float64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return round(float64(samples[i].Value.Uint64())/(1<<20), 1)
	}
	b.HeapObjectsMB, b.HeapUnusedMB, b.HeapFreeMB = mb(0), mb(1), mb(2)
	b.StacksMB = round(mb(3)+mb(4), 1)
	b.RuntimeOtherMB = round(mb(5)+mb(6)+mb(7)+mb(8)+mb(9), 1)
	return b
}

// statusMB reads the "Key: N kB" lines of /proc/self/status for keys, in
// MiB, in one pass; 0 for an absent key (not Linux).
func statusMB(keys ...string) []float64 {
	out := make([]float64, len(keys))
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for i, key := range keys {
			if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
				out[i] = round(kb/1024, 1)
			}
		}
	}
	return out
}

package fsm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// benchFSM is a state of nodes × services placements, three bids each and
// plans kept plans of every placement (allocations and per-node prices;
// no stored explanations).
func benchFSM(b *testing.B, nodes, services, plans int) *FSM {
	b.Helper()
	f := New()
	s := f.st
	set := DefaultSettings()
	s.Settings = &set
	for j := 0; j < services; j++ {
		sv := svc(fmt.Sprintf("svc-%02d", j), bidding.ClassStandard)
		s.Services[sv.Name] = sv
	}
	for i := 0; i < nodes; i++ {
		m := member(fmt.Sprintf("id-%04d", i), fmt.Sprintf("node-%04d", i))
		s.Members[m.ID] = m
	}
	last := uint64(plans)
	for e := uint64(1); e <= last; e++ {
		p := bidding.Plan{Epoch: e, Index: e * 1000, InputIndex: e*1000 - 1, Created: time.Date(2026, 12, 1, 0, int(e)*5, 0, 0, time.UTC), Hash: "sha256:0123456789abcdef"}
		for i := 0; i < nodes; i++ {
			node := fmt.Sprintf("node-%04d", i)
			p.Nodes = append(p.Nodes, bidding.NodePlan{Node: node, Capacity: bidding.Vec{4000, 8 << 30}, ShadowPrice: map[string]float64{"cpu": 0.125, "memory": 1e-9}})
			for j := 0; j < services; j++ {
				p.Allocations = append(p.Allocations, bidding.Allocation{Service: fmt.Sprintf("svc-%02d", j), Node: node, CPU: int64(100 + i + j), Memory: 256 << 20})
			}
		}
		s.Plans[e] = p
		s.PlanIdx = p.Index
	}
	for i := 0; i < nodes; i++ {
		for j := 0; j < services; j++ {
			bids := map[uint64]bidding.Bid{}
			for e := last - 1; e <= last+1; e++ {
				bd := bid(fmt.Sprintf("svc-%02d", j), fmt.Sprintf("node-%04d", i), e, int64(200+i))
				bd.ForecastError = map[string]bidding.ForecastError{"cpu": {MASE: 0.75, CoverageP90: 0.91, CoverageP99: 0.99}}
				bids[e] = bd
			}
			s.Bids[placementKey(fmt.Sprintf("svc-%02d", j), fmt.Sprintf("node-%04d", i))] = bids
		}
	}
	s.Index = last * 1000
	return f
}

type countSink struct{ n int64 }

func (c *countSink) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
func (c *countSink) ID() string                  { return "count" }
func (c *countSink) Cancel() error               { return nil }
func (c *countSink) Close() error                { return nil }

// snapshotJSONOld is the snapshot path before version 2: the whole state
// marshalled to JSON under the FSM's read lock, then written.
func snapshotJSONOld(f *FSM, w io.Writer) error {
	f.mu.RLock()
	b, err := json.Marshal(f.st)
	f.mu.RUnlock()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// snapshotGoMsgpack is the version 2/3 path before the compiled encoder:
// the clone encoded by go-msgpack's reflective encoder (same bytes).
func snapshotGoMsgpack(f *FSM, w io.Writer) error {
	f.mu.RLock()
	st := f.st.clone()
	f.mu.RUnlock()
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString(snapshotMagic)
	bw.WriteByte(snapshotPast)
	if err := codec.NewEncoder(bw, mp).Encode(st); err != nil {
		return err
	}
	return bw.Flush()
}

func snapshotNew(f *FSM, w *countSink) error {
	snap, err := f.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Release()
	return snap.Persist(w)
}

// stallDuring applies one bid over and over while run runs and returns
// the longest single Apply: how long the snapshot blocked applies.
func stallDuring(b *testing.B, f *FSM, run func()) time.Duration {
	entry := mustEncode(b, CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("svc-00", "node-0000", f.st.latestEpoch()+1, 333)}})
	var stop atomic.Bool
	var worst time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	started := make(chan struct{})
	go func() {
		defer wg.Done()
		idx := f.Index() + 1
		for first := true; !stop.Load(); idx++ {
			t0 := time.Now()
			if err := f.ApplyCommand(idx, entry); err != nil {
				panic(err)
			}
			if d := time.Since(t0); d > worst {
				worst = d
			}
			if first {
				close(started)
				first = false
			}
		}
	}()
	<-started
	run()
	stop.Store(true)
	wg.Wait()
	return worst
}

// BenchmarkSnapshot: go test ./fsm -run XXX -bench Snapshot -benchmem
// 1000 nodes × 10 services = 10k placements, 3 bids each, 20 kept plans.
// "go-msgpack" is the msgpack path before the compiled encoder, "msgpack-v2"
// today's (same bytes).
func BenchmarkSnapshot(b *testing.B) {
	for _, format := range []string{"json-v1", "go-msgpack", "msgpack-v2"} {
		b.Run(format, func(b *testing.B) {
			f := benchFSM(b, 1000, 10, 20)
			var size int64
			var worst time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sink := &countSink{}
				stall := stallDuring(b, f, func() {
					var err error
					switch format {
					case "json-v1":
						err = snapshotJSONOld(f, sink)
					case "go-msgpack":
						err = snapshotGoMsgpack(f, sink)
					default:
						err = snapshotNew(f, sink)
					}
					if err != nil {
						b.Fatal(err)
					}
				})
				worst = max(worst, stall)
				size = sink.n
			}
			b.ReportMetric(float64(size), "bytes/snapshot")
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-apply-stall-ms")
		})
	}
}

// BenchmarkSnapshotRestore restores the same state from either format.
func BenchmarkSnapshotRestore(b *testing.B) {
	f := benchFSM(b, 1000, 10, 20)
	data := map[string][]byte{"json-v1": snapshotV1JSON(b, f)}
	snap, _ := f.Snapshot()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		b.Fatal(err)
	}
	data["msgpack-v2"] = sink.Bytes()
	for _, format := range []string{"json-v1", "msgpack-v2"} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := New().Restore(io.NopCloser(bytesReader(data[format]))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeBids decodes a 100-bid submit-bids entry in either version.
func BenchmarkDecodeBids(b *testing.B) {
	var bids []bidding.Bid
	for i := 0; i < 100; i++ {
		bd := bid(fmt.Sprintf("svc-%02d", i%10), fmt.Sprintf("node-%04d", i), 7, int64(100+i))
		bd.ForecastError = map[string]bidding.ForecastError{"cpu": {MASE: 0.75, CoverageP90: 0.91}}
		bids = append(bids, bd)
	}
	for format, data := range map[string][]byte{"json-v1": encodeJSON(b, CmdSubmitBids, SubmitBids{Bids: bids}), "msgpack-v2": mustEncode(b, CmdSubmitBids, SubmitBids{Bids: bids})} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(float64(len(data)), "bytes/entry")
			for i := 0; i < b.N; i++ {
				if _, _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshotEncode: the encoding alone (no applies alongside), before
// (go-msgpack) and now (compiled, same bytes), for 10k placements with the
// two whole plans a compact history keeps:
// go test ./fsm -run '^$' -bench SnapshotEncode -benchmem
func BenchmarkSnapshotEncode(b *testing.B) {
	f := benchFSM(b, 1000, 10, 2)
	for _, enc := range []string{"go-msgpack", "compiled"} {
		b.Run(enc, func(b *testing.B) {
			var size int64
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sink := &countSink{}
				var err error
				if enc == "go-msgpack" {
					err = snapshotGoMsgpack(f, sink)
				} else {
					err = snapshotNew(f, sink)
				}
				if err != nil {
					b.Fatal(err)
				}
				size = sink.n
			}
			b.ReportMetric(float64(size), "bytes/snapshot")
		})
	}
}

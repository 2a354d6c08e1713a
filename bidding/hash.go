package bidding

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
)

// hasher writes a canonical binary encoding into SHA-256 through a buffer.
type hasher struct {
	h   hash.Hash
	buf []byte
}

func newHasher() *hasher { return &hasher{h: sha256.New(), buf: make([]byte, 0, 1<<14)} }

func (w *hasher) flushIf() {
	if len(w.buf) >= 1<<14-1<<12 {
		w.h.Write(w.buf)
		w.buf = w.buf[:0]
	}
}

// Integers are written as varints (zig-zag for signed), floats as their 8
// IEEE bytes, strings with their length first: a prefix-free encoding.
// Writers call flushIf after each record (records are far below the
// buffer's slack).
func (w *hasher) u64(x uint64) { w.buf = binary.AppendUvarint(w.buf, x) }
func (w *hasher) i64(x int64)  { w.buf = binary.AppendVarint(w.buf, x) }
func (w *hasher) f64(x float64) {
	w.buf = binary.BigEndian.AppendUint64(w.buf, math.Float64bits(x))
}
func (w *hasher) str(s string) {
	if len(s) > 1<<10 {
		w.u64(uint64(len(s)))
		w.h.Write(w.buf)
		w.buf = w.buf[:0]
		w.h.Write([]byte(s))
		return
	}
	w.u64(uint64(len(s)))
	w.buf = append(w.buf, s...)
}
func (w *hasher) vec(v Vec) {
	for _, x := range v {
		w.i64(x)
	}
}

func (w *hasher) sum() string {
	w.h.Write(w.buf)
	w.buf = w.buf[:0]
	return "sha256:" + hex.EncodeToString(w.h.Sum(nil))
}

// hashPlan covers the canonical inputs the solver read (epoch, options,
// nodes, services, the boost multipliers in effect, the bids used, the
// previous plan's hash) and the allocations; not Index, Created or Stats.
func (in *instance) hashPlan(alloc []Vec) string {
	w := newHasher()
	w.str("allot-plan-v1")
	w.u64(in.epoch)
	o := in.opts
	w.f64(o.HeadroomFrac)
	w.vec(o.Reserve)
	w.f64(o.ShareCap)
	w.vec(o.Budget)
	w.f64(o.BoostCapFrac)
	w.f64(o.Deadband)
	w.i64(int64(o.MaxIterations))
	if o.SkipExplain {
		w.u64(1)
	} else {
		w.u64(0)
	}
	w.u64(uint64(len(in.nodes)))
	for _, n := range in.nodes {
		w.str(n.Name)
		w.vec(n.Capacity)
		w.flushIf()
	}
	w.u64(uint64(len(in.svcs)))
	for i, s := range in.svcs {
		w.str(s.Name)
		w.str(string(s.Class))
		w.f64(in.base[i])
		w.vec(s.Min)
		w.vec(s.Max)
		w.f64(in.mult[i])
		w.flushIf()
	}
	w.str(in.prevHash)
	// Placements in (service, node) order, by index into the lists above:
	// the bid's epoch and quantiles, then the allocation.
	w.u64(uint64(len(in.pls)))
	for i := range in.pls {
		pl := &in.pls[i]
		w.u64(uint64(pl.svc))
		w.u64(uint64(pl.node))
		w.u64(pl.epoch)
		for r := range NumResources {
			rp := &in.rp[r][i]
			if !rp.has {
				w.u64(0)
				continue
			}
			q := &rp.q
			w.u64(1)
			w.i64(q.P50)
			w.i64(q.P90)
			w.i64(q.P99)
			w.i64(q.Min)
			w.i64(q.Max)
		}
		w.vec(alloc[i])
		w.flushIf()
	}
	return w.sum()
}

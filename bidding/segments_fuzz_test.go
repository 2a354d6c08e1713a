package bidding

import (
	"encoding/json"
	"math"
	"testing"
)

// checkSegments holds for any input: pieces have positive width, cover
// exactly (max(floor,0), hi], and their values are finite, non-negative and
// strictly decreasing (concave utility).
func checkSegments(t *testing.T, q Quantiles, floor, hi int64, w float64, r Resource) {
	segs := Segments(q, floor, hi, w, r)
	var sum int64
	prev := math.Inf(1)
	for _, s := range segs {
		if s.Width <= 0 {
			t.Fatalf("segment %s width %d", s.Name, s.Width)
		}
		sum += s.Width
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || s.Value < 0 {
			t.Fatalf("segment %s value %v", s.Name, s.Value)
		}
		if s.Value > prev {
			t.Fatalf("values increase: %v then %v", prev, s.Value)
		}
		prev = s.Value
	}
	if len(segs) == 0 {
		return
	}
	if want := hi - max(floor, 0); sum != want {
		t.Fatalf("widths sum to %d, want %d (q %+v floor %d hi %d)", sum, want, q, floor, hi)
	}
}

func FuzzSegments(f *testing.F) {
	f.Add(int64(100), int64(200), int64(300), int64(0), int64(400), 4.0, uint8(0))
	f.Add(int64(5), int64(5), int64(5), int64(10), int64(5), 8.0, uint8(1))
	f.Add(int64(-1), int64(9), int64(3), int64(-7), int64(1<<53), 0.0, uint8(7))
	f.Fuzz(func(t *testing.T, p50, p90, p99, floor, hi int64, w float64, r uint8) {
		if hi > MaxQuantity || hi < -MaxQuantity || floor > MaxQuantity || floor < -MaxQuantity {
			t.Skip()
		}
		checkSegments(t, Quantiles{P50: p50, P90: p90, P99: p99}, floor, hi, w, Resource(r))
	})
}

// FuzzBidSegments goes from a bid's JSON through validation to segments, as
// the solver does: a valid bid's quantiles above its min, up to its max.
func FuzzBidSegments(f *testing.F) {
	f.Add([]byte(`{"service":"a","node":"n","epoch":1,"resources":{"cpu":{"p50":1200,"p90":1800,"p99":2300,"min":250,"max":4000}}}`))
	f.Add([]byte(`{"service":"a","node":"n","resources":{"memory":{"p50":0,"p90":0,"p99":0}}}`))
	f.Add([]byte(`{"service":"a","node":"n","resources":{"io":{"p50":9,"p90":8,"p99":7}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Bid
		if json.Unmarshal(data, &b) != nil || b.Validate() != nil {
			return
		}
		for name, q := range b.Resources {
			r, err := ParseResource(name)
			if err != nil {
				t.Fatalf("validated bid has resource %q", name)
			}
			hi := q.P99
			if q.Max > 0 {
				hi = q.Max
			}
			checkSegments(t, q, min(q.Min, hi), hi, 8, r)
		}
	})
}

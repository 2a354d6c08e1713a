package fsm

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"pgregory.net/rapid"
)

// helperFataler is what the helpers need of a *testing.T or a *rapid.T.
type helperFataler interface {
	Helper()
	Fatal(...any)
	Fatalf(string, ...any)
}

// goMsgpack is the state as go-msgpack writes it (what snapshots were
// before the compiled encoder, and what it must keep writing).
func goMsgpack(t helperFataler, st *state) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := codec.NewEncoder(&b, mp).Encode(st); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compiled(t helperFataler, st *state) []byte {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := encodeState(w, st); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sameBytes(t helperFataler, what string, st *state) {
	t.Helper()
	want, got := goMsgpack(t, st), compiled(t, st)
	if !bytes.Equal(want, got) {
		i := 0
		for i < len(want) && i < len(got) && want[i] == got[i] {
			i++
		}
		t.Fatalf("%s: the compiled encoder differs from go-msgpack at byte %d of %d/%d: go-msgpack % x…, compiled % x…",
			what, i, len(want), len(got), want[i:min(len(want), i+16)], got[i:min(len(got), i+16)])
	}
}

// TestStateEncoderMatchesGoMsgpack: the compiled encoder writes the bytes
// go-msgpack writes, for the states of the sample log after every entry,
// for a state of every edge the encodings distinguish (integer widths and
// signs, string and container lengths at the fix/8/16-bit cutoffs, nil
// against empty, omitempty fields, zero and zoned times), and (rapid) for
// random states drawn field by field from the state's type.
func TestStateEncoderMatchesGoMsgpack(t *testing.T) {
	t.Run("sample log", func(t *testing.T) {
		log := sampleLog(t)
		for cut := 0; cut <= len(log); cut++ {
			f := New()
			replay(t, f, log[:cut])
			sameBytes(t, fmt.Sprintf("after %d entries", cut), f.st)
		}
	})
	t.Run("edges", func(t *testing.T) {
		for _, n := range []int{0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536} {
			st := newState()
			st.Index = uint64(n) << 20
			set := DefaultSettings()
			set.EpochMS = -int64(n) - 1
			set.PlanHistoryBytes = math.MaxInt64 - int64(n)
			st.Settings = &set
			long := svc(strings.Repeat("s", n), "critical") // a string of n bytes
			st.Services[long.Name] = long
			bids := map[uint64]bidding.Bid{} // a map of n entries
			for i := range n {
				bids[uint64(i)*977] = bid("b", "n1", uint64(i), int64(i)*int64(i)-int64(n))
			}
			st.Bids[placementKey("b", "n1")] = bids
			st.Past = make([]PastPlan, n%7)
			st.Usage = map[string][]UsagePair{}
			if n > 0 {
				st.Usage["u"] = []UsagePair{}
			}
			st.Regressors = map[string][]RegressorPoint{"r": {{Time: time.Date(2026, 1, 2, 3, 4, 5, n, time.FixedZone("x", 3600*(n%5))), Value: -float64(n) / 3}}}
			sameBytes(t, fmt.Sprintf("edges of %d", n), st)
		}
	})
	t.Run("random", func(t *testing.T) {
		typ := reflect.TypeFor[state]()
		rapid.Check(t, func(rt *rapid.T) {
			st := &state{}
			drawValue(rt, reflect.ValueOf(st).Elem(), typ, 0, "state")
			sameBytes(rt, "a random state", st)
		})
	})
}

// drawValue fills v (of type t) with a random value: nil or empty or a
// few elements for containers, integers across their encodings' widths,
// strings across the length cutoffs, times in a few zones.
func drawValue(rt *rapid.T, v reflect.Value, t reflect.Type, depth int, path string) {
	if t == timeType {
		if rapid.Bool().Draw(rt, path+".zero") {
			return
		}
		sec := rapid.Int64Range(-1<<33, 1<<34).Draw(rt, path+".sec")
		zone := time.FixedZone("z", rapid.IntRange(-12, 12).Draw(rt, path+".zone")*3600)
		v.Set(reflect.ValueOf(time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(rt, path+".ns")).In(zone)))
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(rt, path))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := rapid.SampledFrom([]int{4, 7, 8, 15, 16, 31, 32, 63}).Draw(rt, path+".bits")
		bits = min(bits, t.Bits()-1)
		v.SetInt(rapid.Int64Range(-(1<<bits), (1<<bits)-1).Draw(rt, path))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := min(rapid.SampledFrom([]int{7, 8, 16, 32, 64}).Draw(rt, path+".bits"), t.Bits())
		max := uint64(math.MaxUint64)
		if bits < 64 {
			max = 1<<bits - 1
		}
		v.SetUint(rapid.Uint64Range(0, max).Draw(rt, path))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1.5, -3e300, 1e-9}).Draw(rt, path))
	case reflect.String:
		n := rapid.SampledFrom([]int{0, 1, 31, 32, 255, 256}).Draw(rt, path+".len")
		v.SetString(strings.Repeat(rapid.SampledFrom([]string{"a", "b", "é"}).Draw(rt, path+".ch"), n))
	case reflect.Pointer:
		if depth > 3 || rapid.Bool().Draw(rt, path+".nil") {
			return
		}
		p := reflect.New(t.Elem())
		drawValue(rt, p.Elem(), t.Elem(), depth+1, path+"*")
		v.Set(p)
	case reflect.Slice:
		n := drawLen(rt, depth, path)
		if n < 0 {
			return
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			drawValue(rt, s.Index(i), t.Elem(), depth+1, fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Array:
		for i := range t.Len() {
			drawValue(rt, v.Index(i), t.Elem(), depth+1, fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		n := drawLen(rt, depth, path)
		if n < 0 {
			return
		}
		m := reflect.MakeMap(t)
		for i := range n {
			k := reflect.New(t.Key()).Elem()
			drawValue(rt, k, t.Key(), depth+1, fmt.Sprintf("%s.key%d", path, i))
			e := reflect.New(t.Elem()).Elem()
			drawValue(rt, e, t.Elem(), depth+1, fmt.Sprintf("%s.val%d", path, i))
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
				drawValue(rt, v.Field(i), f.Type, depth+1, path+"."+f.Name)
			}
		}
	default:
		panic(fmt.Sprintf("drawValue: %s", t))
	}
}

// drawLen draws a container's length: -1 for nil, 0 for empty, or a few
// (fewer deeper down, so a state stays small).
func drawLen(rt *rapid.T, depth int, path string) int {
	if depth > 4 {
		return -1
	}
	return rapid.IntRange(-1, max(0, 4-depth)).Draw(rt, path+".len")
}

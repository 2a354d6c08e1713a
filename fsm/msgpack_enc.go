package fsm

import (
	"bufio"
	"cmp"
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// The msgpack encoder of snapshots and state hashes, compiled once per
// type like the decoder (msgpack.go). It writes exactly the bytes
// go-msgpack writes with the handle of codec.go (canonical, WriteExt,
// TimeNotBuiltin: TestStateEncoderMatchesGoMsgpack and the snapshot
// golden files pin that), so the snapshot format and the state hash do not
// change; what changes is the cost. go-msgpack's reflective encoder
// allocated about 2.5 bytes per byte written and 60 objects per bid (a
// key slice and a reflect.Value per map entry, sorting wrappers, a copy of
// every value) and took 200–400 ms of CPU for a 10k-placement state, on
// the server that is also applying entries (and every server hashes its
// state after each plan). This one streams into a bufio.Writer, keeps
// per-depth scratch slices for sorting map keys, and copies a map value
// only when it is not pointer-shaped. It panics at compile time on a kind
// the state does not use (interfaces, channels, functions, complex numbers,
// a BinaryMarshaler other than time.Time), so a new field of such a type
// fails every test instead of encoding differently.
type encFunc func(e *mpEncoder, v reflect.Value)

type mpEncoder struct {
	w        *bufio.Writer
	scratch  [9]byte
	depth    int           // of maps being written
	scratch2 []*mapScratch // per map depth, reused by every map at that depth
}

// mapScratch holds one map's keys (one of the three lists) and the order
// they are written in.
type mapScratch struct {
	perm  []int
	strs  []string
	uints []uint64
	ints  []int64
	vals  map[reflect.Type]reflect.Value // by slice type: the entries' values, copied in
}

var stateEnc = sync.OnceValue(func() encFunc { return compileEnc(reflect.TypeFor[state]()) })

// encodeState writes st's canonical msgpack to w.
func encodeState(w *bufio.Writer, st *state) error {
	e := &mpEncoder{w: w}
	stateEnc()(e, reflect.ValueOf(st).Elem())
	return nil
}

func (e *mpEncoder) byte1(b byte) { e.w.WriteByte(b) }

func (e *mpEncoder) be(b byte, v uint64, n int) {
	e.scratch[0] = b
	for i := 0; i < n; i++ {
		e.scratch[n-i] = byte(v >> (8 * i))
	}
	e.w.Write(e.scratch[:n+1])
}

func (e *mpEncoder) nil() { e.byte1(0xc0) }

// uint and int mirror go-msgpack's EncodeUint and EncodeInt (positive
// signed values in the signed types, fixints when they fit).
func (e *mpEncoder) uint(u uint64) {
	switch {
	case u <= math.MaxInt8:
		e.byte1(byte(u))
	case u <= math.MaxUint8:
		e.be(0xcc, u, 1)
	case u <= math.MaxUint16:
		e.be(0xcd, u, 2)
	case u <= math.MaxUint32:
		e.be(0xce, u, 4)
	default:
		e.be(0xcf, u, 8)
	}
}

func (e *mpEncoder) int(i int64) {
	switch {
	case i > math.MaxInt8:
		switch {
		case i <= math.MaxInt16:
			e.be(0xd1, uint64(i), 2)
		case i <= math.MaxInt32:
			e.be(0xd2, uint64(i), 4)
		default:
			e.be(0xd3, uint64(i), 8)
		}
	case i >= -32:
		e.byte1(byte(i))
	case i >= math.MinInt8:
		e.be(0xd0, uint64(i), 1)
	case i >= math.MinInt16:
		e.be(0xd1, uint64(i), 2)
	case i >= math.MinInt32:
		e.be(0xd2, uint64(i), 4)
	default:
		e.be(0xd3, uint64(i), 8)
	}
}

// container writes a header as go-msgpack's writeContainerLen.
func (e *mpEncoder) container(fixMin, fixCutoff, b8, b16, b32 byte, n int) {
	switch {
	case fixCutoff > 0 && n < int(fixCutoff):
		e.byte1(fixMin | byte(n))
	case b8 > 0 && n < 256:
		e.be(b8, uint64(n), 1)
	case n < 65536:
		e.be(b16, uint64(n), 2)
	default:
		e.be(b32, uint64(n), 4)
	}
}

func (e *mpEncoder) str(s string) {
	e.container(0xa0, 32, 0xd9, 0xda, 0xdb, len(s))
	e.w.WriteString(s)
}

func (e *mpEncoder) bin(b []byte) {
	if b == nil {
		e.nil()
		return
	}
	e.container(0, 0, 0xc4, 0xc5, 0xc6, len(b))
	e.w.Write(b)
}

func (e *mpEncoder) arrayHeader(n int) { e.container(0x90, 16, 0, 0xdc, 0xdd, n) }
func (e *mpEncoder) mapHeader(n int)   { e.container(0x80, 16, 0, 0xde, 0xdf, n) }

var binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()

func compileEnc(t reflect.Type) encFunc { return compileEncOf(t, map[reflect.Type]bool{}) }

func compileEncOf(t reflect.Type, seen map[reflect.Type]bool) encFunc {
	if t == timeType {
		return func(e *mpEncoder, v reflect.Value) {
			b, err := v.Interface().(time.Time).MarshalBinary()
			if err != nil {
				return // as go-msgpack: nothing is written (the domain check refuses such times first)
			}
			e.bin(b)
		}
	}
	if t.Implements(binaryMarshaler) || reflect.PointerTo(t).Implements(binaryMarshaler) {
		panic(fmt.Sprintf("fsm: %s is a BinaryMarshaler: the compiled msgpack encoder does not mirror go-msgpack for it", t))
	}
	if seen[t] {
		panic(fmt.Sprintf("fsm: recursive type %s in the state", t))
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Bool:
		return func(e *mpEncoder, v reflect.Value) {
			if v.Bool() {
				e.byte1(0xc3)
			} else {
				e.byte1(0xc2)
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *mpEncoder, v reflect.Value) { e.int(v.Int()) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(e *mpEncoder, v reflect.Value) { e.uint(v.Uint()) }
	case reflect.Float32:
		return func(e *mpEncoder, v reflect.Value) { e.be(0xca, uint64(math.Float32bits(float32(v.Float()))), 4) }
	case reflect.Float64:
		return func(e *mpEncoder, v reflect.Value) { e.be(0xcb, math.Float64bits(v.Float()), 8) }
	case reflect.String:
		return func(e *mpEncoder, v reflect.Value) { e.str(v.String()) }
	case reflect.Pointer:
		elem := compileEncOf(t.Elem(), seen)
		return func(e *mpEncoder, v reflect.Value) {
			if v.IsNil() {
				e.nil()
				return
			}
			elem(e, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(e *mpEncoder, v reflect.Value) { e.bin(v.Bytes()) }
		}
		elem := compileEncOf(t.Elem(), seen)
		return func(e *mpEncoder, v reflect.Value) {
			if v.IsNil() {
				e.nil()
				return
			}
			n := v.Len()
			e.arrayHeader(n)
			for i := 0; i < n; i++ {
				elem(e, v.Index(i))
			}
		}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			panic(fmt.Sprintf("fsm: byte array %s: go-msgpack writes it as bin, not mirrored here", t))
		}
		elem := compileEncOf(t.Elem(), seen)
		return func(e *mpEncoder, v reflect.Value) {
			n := v.Len()
			e.arrayHeader(n)
			for i := 0; i < n; i++ {
				elem(e, v.Index(i))
			}
		}
	case reflect.Map:
		return compileEncMap(t, seen)
	case reflect.Struct:
		return compileEncStruct(t, seen)
	}
	panic(fmt.Sprintf("fsm: no msgpack encoder for %s (kind %s)", t, t.Kind()))
}

// compileEncMap writes a map with its keys sorted, as go-msgpack's
// canonical mode does for string, unsigned and signed keys. The entries
// are copied into slices kept per map depth (and value type), reused by
// every map at that depth, and written in key order: no allocation per map
// or entry once the slices have grown.
func compileEncMap(t reflect.Type, seen map[reflect.Type]bool) encFunc {
	key, elem := t.Key(), compileEncOf(t.Elem(), seen)
	vals := reflect.SliceOf(t.Elem())
	var kind int // 0 string, 1 unsigned, 2 signed
	switch key.Kind() {
	case reflect.String:
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		kind = 1
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		kind = 2
	default:
		panic(fmt.Sprintf("fsm: map key %s: the compiled msgpack encoder sorts only string and integer keys", key))
	}
	return func(e *mpEncoder, v reflect.Value) {
		if v.IsNil() {
			e.nil()
			return
		}
		n := v.Len()
		e.mapHeader(n)
		if n == 0 {
			return
		}
		if len(e.scratch2) <= e.depth {
			e.scratch2 = append(e.scratch2, &mapScratch{})
		}
		sc := e.scratch2[e.depth]
		sc.perm, sc.strs, sc.uints, sc.ints = sc.perm[:0], sc.strs[:0], sc.uints[:0], sc.ints[:0]
		vs, ok := sc.vals[vals]
		if !ok || vs.Cap() < n {
			vs = reflect.MakeSlice(vals, n, max(n, 8))
			if sc.vals == nil {
				sc.vals = map[reflect.Type]reflect.Value{}
			}
			sc.vals[vals] = vs
		}
		vs = vs.Slice(0, n)
		kv := reflect.New(key).Elem()
		i := 0
		for it := v.MapRange(); it.Next() && i < n; i++ {
			kv.SetIterKey(it)
			vs.Index(i).SetIterValue(it)
			sc.perm = append(sc.perm, i)
			switch kind {
			case 0:
				sc.strs = append(sc.strs, kv.String())
			case 1:
				sc.uints = append(sc.uints, kv.Uint())
			default:
				sc.ints = append(sc.ints, kv.Int())
			}
		}
		switch kind {
		case 0:
			slices.SortFunc(sc.perm, func(a, b int) int { return strings.Compare(sc.strs[a], sc.strs[b]) })
		case 1:
			slices.SortFunc(sc.perm, func(a, b int) int { return cmp.Compare(sc.uints[a], sc.uints[b]) })
		default:
			slices.SortFunc(sc.perm, func(a, b int) int { return cmp.Compare(sc.ints[a], sc.ints[b]) })
		}
		e.depth++
		for _, j := range sc.perm {
			switch kind {
			case 0:
				e.str(sc.strs[j])
			case 1:
				e.uint(sc.uints[j])
			default:
				e.int(sc.ints[j])
			}
			elem(e, vs.Index(j))
		}
		e.depth--
	}
}

// compileEncStruct writes a struct as a map of its fields by json name,
// sorted, leaving out omitempty fields that are empty by go-msgpack's
// (non-recursive) test.
func compileEncStruct(t reflect.Type, seen map[reflect.Type]bool) encFunc {
	type field struct {
		name      string
		index     int
		omitEmpty bool
		empty     func(reflect.Value) bool
		enc       encFunc
	}
	var fields []field
	for _, f := range wireFields(t) {
		fields = append(fields, field{name: f.name, index: f.index, omitEmpty: f.omitEmpty, empty: emptyTest(f.typ), enc: compileEncOf(f.typ, seen)})
	}
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.name, b.name) })
	return func(e *mpEncoder, v reflect.Value) {
		n := 0
		for i := range fields {
			if !fields[i].omitEmpty || !fields[i].empty(v.Field(fields[i].index)) {
				n++
			}
		}
		e.mapHeader(n)
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index)
			if f.omitEmpty && f.empty(fv) {
				continue
			}
			e.str(f.name)
			f.enc(e, fv)
		}
	}
}

// emptyTest mirrors go-msgpack's isEmptyValue with RecursiveEmptyCheck off:
// a struct is empty only when it is a zero time, or comparable and equal to
// its zero value (IsZero methods other than time's are refused by the
// encoder's compilation, see below).
func emptyTest(t reflect.Type) func(reflect.Value) bool {
	switch t.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return func(v reflect.Value) bool { return v.Len() == 0 }
	case reflect.Bool:
		return func(v reflect.Value) bool { return !v.Bool() }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) bool { return v.Int() == 0 }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(v reflect.Value) bool { return v.Uint() == 0 }
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value) bool { return v.Float() == 0 }
	case reflect.Interface, reflect.Pointer:
		return func(v reflect.Value) bool { return v.IsNil() }
	case reflect.Struct:
		if t == timeType {
			return func(v reflect.Value) bool { return v.Interface().(time.Time).IsZero() }
		}
		if _, ok := t.MethodByName("IsZero"); ok {
			panic(fmt.Sprintf("fsm: %s has an IsZero method: go-msgpack's omitempty would call it, not mirrored here", t))
		}
		if _, ok := reflect.PointerTo(t).MethodByName("IsZero"); ok {
			panic(fmt.Sprintf("fsm: *%s has an IsZero method: go-msgpack's omitempty would call it, not mirrored here", t))
		}
		if t.Comparable() {
			zero := reflect.Zero(t).Interface()
			return func(v reflect.Value) bool { return v.Interface() == zero }
		}
		return func(reflect.Value) bool { return false }
	}
	return func(reflect.Value) bool { return false }
}

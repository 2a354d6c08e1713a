package fsm

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// The msgpack decoder of version 2 payloads and snapshots. Log entries are
// encoded by hashicorp/go-msgpack (codec.go), snapshots and state hashes by
// the compiled encoder writing its exact bytes (msgpack_enc.go); decoding
// does not use go-msgpack, because its
// reflective decoder (v2.1.5) decodes every struct value of a map into one
// reused scratch value: a field omitted in one value keeps the previous
// value's, and a nested map or slice is shared and merged between values
// (two bids of a placement map end up with one resources map; see
// TestGoMsgpackMapOfStructs). This decoder is compiled once per payload
// type (the command table) and is strict: every value is decoded into a
// fresh zero value, lengths are checked against the bytes left, integers
// against their field's range, and trailing bytes are an error.

// decFunc decodes one msgpack value into v (settable).
type decFunc func(d *mpDecoder, v reflect.Value) error

type mpDecoder struct {
	b     []byte
	off   int
	depth int
}

const maxSkipDepth = 64

var errShort = errors.New("unexpected end of data")

// decodeInto decodes exactly one value of b into the value v points to.
func decodeInto(b []byte, dec decFunc, v any) error {
	if len(b) == 0 {
		return errors.New("empty payload")
	}
	d := &mpDecoder{b: b}
	if err := dec(d, reflect.ValueOf(v).Elem()); err != nil {
		return fmt.Errorf("at byte %d: %w", d.off, err)
	}
	if d.off != len(b) {
		return fmt.Errorf("%d bytes after the value", len(b)-d.off)
	}
	return nil
}

func (d *mpDecoder) byte1() (byte, error) {
	if d.off >= len(d.b) {
		return 0, errShort
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *mpDecoder) peek() (byte, error) {
	if d.off >= len(d.b) {
		return 0, errShort
	}
	return d.b[d.off], nil
}

func (d *mpDecoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, errShort
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s, nil
}

func (d *mpDecoder) uintN(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, c := range s {
		u = u<<8 | uint64(c)
	}
	return u, nil
}

// isNil consumes a nil if there is one.
func (d *mpDecoder) isNil() (bool, error) {
	c, err := d.peek()
	if err != nil {
		return false, err
	}
	if c == 0xc0 {
		d.off++
		return true, nil
	}
	return false, nil
}

// length reads a container or string header of the given family.
func (d *mpDecoder) length(family string) (int, error) {
	c, err := d.byte1()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case family == "str" && c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case family == "array" && c >= 0x90 && c <= 0x9f:
		n = uint64(c & 0x0f)
	case family == "map" && c >= 0x80 && c <= 0x8f:
		n = uint64(c & 0x0f)
	case family == "str" && c == 0xd9, family == "bin" && c == 0xc4:
		n, err = d.uintN(1)
	case family == "str" && c == 0xda, family == "bin" && c == 0xc5, family == "array" && c == 0xdc, family == "map" && c == 0xde:
		n, err = d.uintN(2)
	case family == "str" && c == 0xdb, family == "bin" && c == 0xc6, family == "array" && c == 0xdd, family == "map" && c == 0xdf:
		n, err = d.uintN(4)
	default:
		return 0, fmt.Errorf("type byte %#x where a %s was expected", c, family)
	}
	if err != nil {
		return 0, err
	}
	// Every element takes at least one byte (two for a map entry).
	per := uint64(1)
	if family == "map" {
		per = 2
	}
	if n*per > uint64(len(d.b)-d.off) {
		return 0, fmt.Errorf("%s of %d elements in %d bytes: %w", family, n, len(d.b)-d.off, errShort)
	}
	return int(n), nil
}

// integer reads any msgpack integer as a sign and magnitude.
func (d *mpDecoder) integer() (neg bool, mag uint64, err error) {
	c, err := d.byte1()
	if err != nil {
		return false, 0, err
	}
	switch {
	case c <= 0x7f:
		return false, uint64(c), nil
	case c >= 0xe0:
		return true, uint64(-int64(int8(c))), nil
	case c >= 0xcc && c <= 0xcf:
		u, err := d.uintN(1 << (c - 0xcc))
		return false, u, err
	case c >= 0xd0 && c <= 0xd3:
		n := 1 << (c - 0xd0)
		u, err := d.uintN(n)
		if err != nil {
			return false, 0, err
		}
		shift := 64 - 8*uint(n)
		i := int64(u<<shift) >> shift // sign-extend
		if i < 0 {
			return true, uint64(-(i + 1)) + 1, nil
		}
		return false, uint64(i), nil
	}
	return false, 0, fmt.Errorf("type byte %#x where an integer was expected", c)
}

func decInt(d *mpDecoder, v reflect.Value) error {
	neg, mag, err := d.integer()
	if err != nil {
		return err
	}
	if (!neg && mag > math.MaxInt64) || (neg && mag > 1<<63) {
		return fmt.Errorf("integer out of range for %s", v.Type())
	}
	i := int64(mag)
	if neg {
		i = -int64(mag-1) - 1
	}
	if v.OverflowInt(i) {
		return fmt.Errorf("%d overflows %s", i, v.Type())
	}
	v.SetInt(i)
	return nil
}

func decUint(d *mpDecoder, v reflect.Value) error {
	neg, mag, err := d.integer()
	if err != nil {
		return err
	}
	if neg && mag != 0 {
		return fmt.Errorf("negative value for %s", v.Type())
	}
	if v.OverflowUint(mag) {
		return fmt.Errorf("%d overflows %s", mag, v.Type())
	}
	v.SetUint(mag)
	return nil
}

func decFloat(d *mpDecoder, v reflect.Value) error {
	c, err := d.byte1()
	if err != nil {
		return err
	}
	switch c {
	case 0xca:
		u, err := d.uintN(4)
		if err != nil {
			return err
		}
		v.SetFloat(float64(math.Float32frombits(uint32(u))))
	case 0xcb:
		u, err := d.uintN(8)
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(u))
	default:
		return fmt.Errorf("type byte %#x where a float was expected", c)
	}
	return nil
}

func decBool(d *mpDecoder, v reflect.Value) error {
	c, err := d.byte1()
	if err != nil {
		return err
	}
	if c != 0xc2 && c != 0xc3 {
		return fmt.Errorf("type byte %#x where a bool was expected", c)
	}
	v.SetBool(c == 0xc3)
	return nil
}

func (d *mpDecoder) str() (string, error) {
	n, err := d.length("str")
	if err != nil {
		return "", err
	}
	s, err := d.take(n)
	return string(s), err
}

func decString(d *mpDecoder, v reflect.Value) error {
	s, err := d.str()
	if err != nil {
		return err
	}
	v.SetString(s)
	return nil
}

// decBytes reads a bin value into a fresh []byte (not sharing the input).
func decBytes(d *mpDecoder, v reflect.Value) error {
	n, err := d.length("bin")
	if err != nil {
		return err
	}
	b, err := d.take(n)
	if err != nil {
		return err
	}
	v.SetBytes(append([]byte{}, b...))
	return nil
}

// decTime reads the standard library's MarshalBinary form (codec.go).
func decTime(d *mpDecoder, v reflect.Value) error {
	n, err := d.length("bin")
	if err != nil {
		return err
	}
	b, err := d.take(n)
	if err != nil {
		return err
	}
	var t time.Time
	if err := t.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	v.Set(reflect.ValueOf(t))
	return nil
}

// skip steps over one value of any type (an unknown struct field).
func (d *mpDecoder) skip() error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxSkipDepth {
		return errors.New("nesting too deep")
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	var n int
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		n = 1
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		_, err = d.str()
		return err
	case c >= 0xc4 && c <= 0xc6:
		l, err := d.length("bin")
		if err != nil {
			return err
		}
		_, err = d.take(l)
		return err
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		l, err := d.length("array")
		for i := 0; err == nil && i < l; i++ {
			err = d.skip()
		}
		return err
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		l, err := d.length("map")
		for i := 0; err == nil && i < 2*l; i++ {
			err = d.skip()
		}
		return err
	case c == 0xca:
		n = 5
	case c == 0xcb:
		n = 9
	case c >= 0xcc && c <= 0xcf:
		n = 1 + 1<<(c-0xcc)
	case c >= 0xd0 && c <= 0xd3:
		n = 1 + 1<<(c-0xd0)
	case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
		n = 2 + 1<<(c-0xd4)
	case c >= 0xc7 && c <= 0xc9: // ext 8, 16, 32
		d.off++
		l, err := d.uintN(1 << (c - 0xc7))
		if err != nil {
			return err
		}
		if l > uint64(len(d.b)) {
			return errShort
		}
		n = 1 + int(l) // the ext type byte and the data
		_, err = d.take(n)
		return err
	default:
		return fmt.Errorf("type byte %#x is not msgpack", c)
	}
	_, err = d.take(n)
	return err
}

// compileDec builds the decoder of a type once (at table initialisation).
func compileDec(t reflect.Type) decFunc {
	dec := compileDecOf(t, map[reflect.Type]bool{})
	// nil in the stream is the zero value of any type, as go-msgpack writes
	// it for nil pointers, maps and slices.
	return func(d *mpDecoder, v reflect.Value) error {
		if isNil, err := d.isNil(); err != nil || isNil {
			v.SetZero()
			return err
		}
		return dec(d, v)
	}
}

func compileDecOf(t reflect.Type, seen map[reflect.Type]bool) decFunc {
	if t == timeType {
		return decTime
	}
	if seen[t] {
		panic(fmt.Sprintf("fsm: recursive type %s in a command or the state", t))
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Bool:
		return decBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return decUint
	case reflect.Float32, reflect.Float64:
		return decFloat
	case reflect.String:
		return decString
	case reflect.Pointer:
		elem := compileDecNil(t.Elem(), seen)
		return func(d *mpDecoder, v reflect.Value) error {
			p := reflect.New(t.Elem())
			if err := elem(d, p.Elem()); err != nil {
				return err
			}
			v.Set(p)
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return decBytes // []byte: msgpack bin, as the encoder writes it (WriteExt)
		}
		elem := compileDecNil(t.Elem(), seen)
		return func(d *mpDecoder, v reflect.Value) error {
			n, err := d.length("array")
			if err != nil {
				return err
			}
			s := reflect.MakeSlice(t, n, n)
			for i := 0; i < n; i++ {
				if err := elem(d, s.Index(i)); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
			v.Set(s)
			return nil
		}
	case reflect.Array:
		elem := compileDecNil(t.Elem(), seen)
		return func(d *mpDecoder, v reflect.Value) error {
			n, err := d.length("array")
			if err != nil {
				return err
			}
			if n != t.Len() {
				return fmt.Errorf("array of %d elements for %s", n, t)
			}
			v.SetZero()
			for i := 0; i < n; i++ {
				if err := elem(d, v.Index(i)); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
			return nil
		}
	case reflect.Map:
		key, elem := compileDecNil(t.Key(), seen), compileDecNil(t.Elem(), seen)
		return func(d *mpDecoder, v reflect.Value) error {
			n, err := d.length("map")
			if err != nil {
				return err
			}
			m := reflect.MakeMapWithSize(t, n)
			for i := 0; i < n; i++ {
				k := reflect.New(t.Key()).Elem()
				if err := key(d, k); err != nil {
					return fmt.Errorf("key: %w", err)
				}
				e := reflect.New(t.Elem()).Elem() // fresh: never shared with another entry
				if err := elem(d, e); err != nil {
					return fmt.Errorf("[%v]: %w", k, err)
				}
				m.SetMapIndex(k, e)
			}
			v.Set(m)
			return nil
		}
	case reflect.Struct:
		return compileStruct(t, seen)
	}
	panic(fmt.Sprintf("fsm: no msgpack decoder for %s (kind %s)", t, t.Kind()))
}

func compileDecNil(t reflect.Type, seen map[reflect.Type]bool) decFunc {
	dec := compileDecOf(t, seen)
	return func(d *mpDecoder, v reflect.Value) error {
		if isNil, err := d.isNil(); err != nil || isNil {
			v.SetZero()
			return err
		}
		return dec(d, v)
	}
}

// wireField is a struct field as the msgpack codec writes it: under its json
// name (the Go name without one), in the struct at index.
type wireField struct {
	index     int
	name      string
	omitEmpty bool
	typ       reflect.Type
}

// wireFields lists t's fields on the wire, in declaration order; the encoder
// and the decoder both read it, so they cannot disagree on a name. It panics
// (at compilation, so every test fails) on what the codec would not map the
// same way: an embedded field (go-msgpack flattens it) or a codec tag (which
// go-msgpack prefers to the json tag).
func wireFields(t reflect.Type) []wireField {
	var out []wireField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			panic(fmt.Sprintf("fsm: embedded field %s in %s: the msgpack codec does not flatten", f.Name, t))
		}
		if _, ok := f.Tag.Lookup("codec"); ok {
			panic(fmt.Sprintf("fsm: field %s of %s has a codec tag: go-msgpack would prefer it to the json tag", f.Name, t))
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, wireField{index: i, name: name, omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"), typ: f.Type})
	}
	return out
}

// compileStruct decodes a map of field names (json tag names, as the
// encoder writes them) in any order; unknown names are skipped, so a newer
// build's extra field does not stop an older one.
func compileStruct(t reflect.Type, seen map[reflect.Type]bool) decFunc {
	type field struct {
		index int
		dec   decFunc
	}
	fields := map[string]field{}
	for _, f := range wireFields(t) {
		fields[f.name] = field{f.index, compileDecNil(f.typ, seen)}
	}
	return func(d *mpDecoder, v reflect.Value) error {
		n, err := d.length("map")
		if err != nil {
			return err
		}
		v.SetZero()
		for i := 0; i < n; i++ {
			name, err := d.str()
			if err != nil {
				return fmt.Errorf("%s field name: %w", t, err)
			}
			f, ok := fields[name]
			if !ok {
				if err := d.skip(); err != nil {
					return fmt.Errorf("%s.%s: %w", t, name, err)
				}
				continue
			}
			if err := f.dec(d, v.Field(f.index)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
}

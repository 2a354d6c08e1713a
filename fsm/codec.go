package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// newMsgpackHandle returns the msgpack encoder configuration of the log and
// the snapshots (version 2); they are decoded by msgpack.go. Same value,
// same bytes:
//   - Canonical: map keys (and struct fields) are written sorted;
//   - struct fields are written as maps keyed by their json tag names (not
//     as positional arrays), so a reordered field can never be misread, a
//     new field is ignored by an older decoder, and omitempty is honoured;
//   - time.Time is written as the standard library's MarshalBinary form
//     (seconds, nanoseconds and the zone offset): a time keeps the offset
//     JSON keeps, so a state restored from a msgpack snapshot hashes (JSON)
//     exactly as the state it was taken from;
//   - WriteExt: the current msgpack spec (str8, bin types).
func newMsgpackHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{WriteExt: true}
	h.Canonical = true
	h.TimeNotBuiltin = true
	return h
}

// mp is the msgpack handle. It is configured once here and never changed;
// a handle is safe for concurrent use (it caches type information).
var mp = newMsgpackHandle()

// Encode builds a command envelope in the current version: version byte,
// type byte, msgpack payload. The payload must be the table's type for t
// (a value or a pointer to it), and representable in JSON (finite numbers,
// times in years 0 to 9999) like every value of the state.
func Encode(t CommandType, payload any) ([]byte, error) {
	spec, ok := commands[t]
	if !ok {
		return nil, fmt.Errorf("encoding command: unknown command type %d", byte(t))
	}
	v, ok := spec.payload(payload)
	if !ok {
		return nil, fmt.Errorf("encoding %s command: payload is %T, want %T", t, payload, spec.newPayload())
	}
	if err := spec.check(reflect.ValueOf(v).Elem()); err != nil {
		return nil, fmt.Errorf("encoding %s command: %w", t, err)
	}
	var out bytes.Buffer
	out.Grow(256)
	out.Write([]byte{EnvelopeMsgpack, byte(t)})
	if err := codec.NewEncoder(&out, mp).Encode(v); err != nil {
		return nil, fmt.Errorf("encoding %s command: %w", t, err)
	}
	return out.Bytes(), nil
}

// ErrUnknownIgnorable is returned by Decode for an unknown command type that
// carries the ignorable flag: the FSM skips it.
var ErrUnknownIgnorable = errors.New("unknown ignorable command")

// Decode splits an envelope of any known version and decodes its payload
// into the table's type: a pointer (*RegisterService, …).
func Decode(data []byte) (CommandType, any, error) {
	if len(data) < 2 {
		return 0, nil, fmt.Errorf("command envelope: %d bytes, need at least 2", len(data))
	}
	ver, t := data[0], CommandType(data[1])
	if ver != EnvelopeJSON && ver != EnvelopeMsgpack {
		return t, nil, fmt.Errorf("command envelope: version %d, this build knows %d (JSON) and %d (msgpack)", ver, EnvelopeJSON, EnvelopeMsgpack)
	}
	spec, ok := commands[t]
	if !ok {
		if byte(t)&IgnorableFlag != 0 {
			return t, nil, ErrUnknownIgnorable
		}
		return t, nil, fmt.Errorf("command envelope: unknown command type %d", byte(t))
	}
	v := spec.newPayload()
	if ver == EnvelopeJSON {
		if err := json.Unmarshal(data[2:], v); err != nil {
			return t, nil, fmt.Errorf("decoding %s payload (JSON): %w", t, err)
		}
		return t, v, nil
	}
	if err := decodeInto(data[2:], spec.dec, v); err != nil {
		return t, nil, fmt.Errorf("decoding %s payload (msgpack): %w", t, err)
	}
	if err := spec.check(reflect.ValueOf(v).Elem()); err != nil {
		return t, nil, fmt.Errorf("decoding %s payload (msgpack): %w", t, err)
	}
	return t, v, nil
}

// checkFunc refuses a value JSON cannot represent. The state is hashed as
// JSON and version 1 entries are JSON, so a msgpack value outside JSON's
// domain (NaN, ±Inf, a year past 9999) would otherwise reach the state and
// make the hash panic; msgpack entries are checked on encode and decode.
type checkFunc func(v reflect.Value) error

var (
	timeType   = reflect.TypeFor[time.Time]()
	noCheck    = checkFunc(func(reflect.Value) error { return nil })
	errNoFloat = errors.New("not a finite number")
)

// compileCheck builds the check of a type once (at table initialisation):
// only the parts of a type that hold floats or times are walked.
func compileCheck(t reflect.Type) checkFunc {
	if c := compile(t, map[reflect.Type]bool{}); c != nil {
		return c
	}
	return noCheck
}

// compile returns nil when no value of t needs checking.
func compile(t reflect.Type, seen map[reflect.Type]bool) checkFunc {
	if t == timeType {
		return func(v reflect.Value) error {
			if y := v.Interface().(time.Time).Year(); y < 0 || y > 9999 {
				return fmt.Errorf("time in year %d is outside [0, 9999]", y)
			}
			return nil
		}
	}
	if seen[t] {
		panic(fmt.Sprintf("fsm: recursive type %s in a command or the state", t))
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value) error {
			if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%v: %w", f, errNoFloat)
			}
			return nil
		}
	case reflect.Pointer:
		elem := compile(t.Elem(), seen)
		if elem == nil {
			return nil
		}
		return func(v reflect.Value) error {
			if v.IsNil() {
				return nil
			}
			return elem(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		elem := compile(t.Elem(), seen)
		if elem == nil {
			return nil
		}
		return func(v reflect.Value) error {
			for i := 0; i < v.Len(); i++ {
				if err := elem(v.Index(i)); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
			return nil
		}
	case reflect.Map:
		key, elem := compile(t.Key(), seen), compile(t.Elem(), seen)
		if key == nil && elem == nil {
			return nil
		}
		return func(v reflect.Value) error {
			it := v.MapRange()
			for it.Next() {
				if key != nil {
					if err := key(it.Key()); err != nil {
						return fmt.Errorf("key: %w", err)
					}
				}
				if elem != nil {
					if err := elem(it.Value()); err != nil {
						return fmt.Errorf("[%v]: %w", it.Key(), err)
					}
				}
			}
			return nil
		}
	case reflect.Struct:
		type field struct {
			i     int
			name  string
			check checkFunc
		}
		var fields []field
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if c := compile(f.Type, seen); c != nil {
				fields = append(fields, field{i, f.Name, c})
			}
		}
		if len(fields) == 0 {
			return nil
		}
		return func(v reflect.Value) error {
			for _, f := range fields {
				if err := f.check(v.Field(f.i)); err != nil {
					return fmt.Errorf("%s: %w", f.name, err)
				}
			}
			return nil
		}
	case reflect.Interface:
		panic(fmt.Sprintf("fsm: interface type %s in a command or the state", t))
	}
	return nil
}

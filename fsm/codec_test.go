package fsm

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// encodeJSON builds a version 1 (JSON) envelope, as builds before msgpack
// wrote them. Production code only writes the current version.
func encodeJSON(t fataler, ct CommandType, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{EnvelopeJSON, byte(ct)}, b...)
}

// commandConstants reads every constant of type CommandType declared in
// the package's (non-test) sources, so a new constant without a table row
// fails TestCommandTable.
func commandConstants(t *testing.T) map[string]CommandType {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]CommandType{}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		{
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "CommandType" {
						continue
					}
					for i, name := range vs.Names {
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok {
							t.Fatalf("%s: write command types as literals", name.Name)
						}
						n, err := strconv.ParseUint(lit.Value, 0, 8)
						if err != nil {
							t.Fatal(err)
						}
						out[name.Name] = CommandType(n)
					}
				}
			}
		}
	}
	return out
}

// TestCommandTable: every CommandType constant has a row, names are unique,
// the ignorable flag agrees with the type's bit, and encode, decode, name
// and apply all come from the row.
func TestCommandTable(t *testing.T) {
	consts := commandConstants(t)
	if len(consts) < 15 {
		t.Fatalf("found %d CommandType constants, want at least 15", len(consts))
	}
	if len(consts) != len(commands) {
		t.Errorf("%d constants, %d table rows", len(consts), len(commands))
	}
	names := map[string]CommandType{}
	for name, ct := range consts {
		spec, ok := commands[ct]
		if !ok {
			t.Errorf("%s (%d) has no row in the command table", name, ct)
			continue
		}
		if spec.name == "" || ct.String() != spec.name {
			t.Errorf("%s: name %q", name, ct)
		}
		if other, dup := names[spec.name]; dup {
			t.Errorf("%s and %d share the name %q", name, other, spec.name)
		}
		names[spec.name] = ct
		if spec.ignorable != (byte(ct)&IgnorableFlag != 0) {
			t.Errorf("%s: ignorable %v, but the type byte %#x says otherwise", name, spec.ignorable, byte(ct))
		}
		if spec.newPayload == nil || spec.apply == nil || spec.payload == nil || spec.check == nil {
			t.Errorf("%s: incomplete row", name)
		}
		if _, ok := spec.payload(spec.newPayload()); !ok {
			t.Errorf("%s: the row's payload type does not accept its own zero value", name)
		}
	}
	if _, err := Encode(CmdSubmitBids, RegisterService{}); err == nil || !strings.Contains(err.Error(), "want *fsm.SubmitBids") {
		t.Errorf("a payload of the wrong type was encoded (%v)", err)
	}
	if got := CommandType(0x55).String(); got != "command(85)" {
		t.Errorf("unknown type named %q", got)
	}
}

// snapshotV1JSON is a version 1 (JSON) snapshot of f, as builds before
// msgpack wrote them (json.Marshal of the state under the read lock).
func snapshotV1JSON(t fataler, f *FSM) []byte {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := json.Marshal(f.st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reflectTypeOf(v any) reflect.Type { return reflect.TypeOf(v) }

func nanValue() float64 { return math.NaN() }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

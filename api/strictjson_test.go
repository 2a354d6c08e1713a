package api

import (
	"encoding/json"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	for body, bad := range map[string]bool{
		`null`: true, ` null `: true, `{"a":1,"a":2}`: true, `{"a":{"b":1,"b":1}}`: true, `[{"x":1},{"x":1,"x":2}]`: true,
		`{"a":1,"b":{"a":1}}`: false, `[{"x":1},{"x":1}]`: false, `{}`: false, `[]`: false, `{"a":null}`: false, `{"a":[1,2,{"a":1}]}`: false,
	} {
		if err := checkJSON([]byte(body)); (err != nil) != bad {
			t.Errorf("%s: error %v, want refused=%v", body, err, bad)
		}
	}
}

// FuzzCheckJSON: never panics, and every valid JSON document without a
// repeated key and not null is accepted.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, `[null]`, `null`, `{"a":{"b":[1,{"c":2,"c":3}]}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkJSON(b)
		var v any
		if err != nil || json.Unmarshal(b, &v) != nil {
			return
		}
		if v == nil {
			t.Fatalf("%q: null accepted", b)
		}
	})
}

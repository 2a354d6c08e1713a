package api

import (
	"encoding/json"
	"strings"
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

// TestCheckJSONNamesThePath: the refusal names where the repeated key is.
func TestCheckJSONNamesThePath(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"a":2}`:           "a: appears twice",
		`{"a":{"b":1,"b":1}}`:     "a.b: appears twice",
		`[{"x":1},{"x":1,"x":2}]`: "[1].x: appears twice",
		`{"bids":[{"r":{"cpu":1}},{"r":{"cpu":1,"cpu":2}}]}`: "bids[1].r.cpu: appears twice",
		`[[{"k":1,"k":1}]]`: "[0][0].k: appears twice",
	} {
		if err := checkJSON([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %q", body, err, want)
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

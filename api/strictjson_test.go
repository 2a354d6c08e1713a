package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
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

// tokenWalk is the previous check, by json.Decoder.Token: the reference
// FuzzCheckJSONAsTokens holds the byte scanner to. It returns the
// repeated key's path and whether there is one.
func tokenWalk(dec *json.Decoder, path string) (string, bool) {
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", false
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", false
			}
			k, _ := kt.(string)
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seen[k] {
				return p, true
			}
			seen[k] = true
			if r, dup := tokenWalk(dec, p); dup {
				return r, true
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if r, dup := tokenWalk(dec, path+"["+strconv.Itoa(i)+"]"); dup {
				return r, true
			}
		}
	}
	_, _ = dec.Token()
	return "", false
}

// FuzzCheckJSONAsTokens: on valid JSON the byte scanner refuses exactly
// what the Token walk refused, naming the same path; on any bytes it
// never panics.
func FuzzCheckJSONAsTokens(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[1,{"c":2,"c":3}]}}`, `{"\u0061":1,"a":2}`, "{\"\xff\":1,\"\xfe\":2}",
		`[{"x":"a\"b","y":[true,false,null,-1.5e3]},{"x":1}]`, `{"bids":[{"r":{"cpu":1}},{"r":{"cpu":1,"cpu":2}}]}`, `  [ ] `, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkJSON(b)
		if !json.Valid(b) || bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		want, dup := tokenWalk(dec, "")
		switch {
		case !dup && err != nil:
			t.Fatalf("%q: refused (%v), the Token walk accepted it", b, err)
		case dup && (err == nil || !strings.Contains(err.Error(), truncate(want, 200)+": appears twice")):
			t.Fatalf("%q: error %v, the Token walk named %q", b, err, want)
		}
	})
}

// BenchmarkCheckJSON: the check of one node's 100-bid body, by the byte
// scanner and by the previous Token walk:
//
//	go test ./api -run '^$' -bench CheckJSON -benchmem
func BenchmarkCheckJSON(b *testing.B) {
	var bids []bidding.Bid
	for i := range 100 {
		bids = append(bids, bidding.Bid{Service: "svc-" + strconv.Itoa(i), Node: "node-0001", Epoch: 42,
			Resources: map[string]bidding.Quantiles{"cpu": {P50: 500, P90: 800, P99: 1000}, "memory": {P50: 1 << 28, P90: 1 << 29, P99: 1 << 30}}})
	}
	body, err := json.Marshal(bids)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if checkJSON(body) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("tokens", func(b *testing.B) {
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if _, dup := tokenWalk(dec, ""); dup {
				b.Fatal("refused")
			}
		}
	})
	b.Run("decode", func(b *testing.B) { // what follows the check in decodeBody
		for b.Loop() {
			var v []bidding.Bid
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

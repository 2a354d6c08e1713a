package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// checkJSON refuses what encoding/json would quietly accept: a body that is
// `null` (which decodes to the zero value: PUT /v1/service/x with null
// reset the service), and an object with a key given twice (where the last
// one silently wins: {"policy":"read","policy":"operator"} made an operator
// token). Malformed JSON is left to the decoder, which names the offset.
func checkJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return badRequest("body: null, expected a JSON object or list")
	}
	sc := jsonScan{b: b}
	if rev := sc.value(0); rev != nil {
		return badRequest("%s: appears twice in the object; give each key once", truncate(jsonPath(rev), 200))
	}
	return nil
}

// jsonScan walks a JSON document's bytes for keys given twice. It is a
// plain byte scanner: json.Decoder.Token, which this used before, cost
// twice the decoding itself, and a bid body is checked on every write
// (100k bids per epoch at 1000 nodes × 100 services). It validates only
// what it needs to find the keys: malformed JSON stops the walk (nil) and
// is left to the decoder, which names the offset. Keys are compared as
// the decoder sees them (escapes and invalid UTF-8 decoded), so the answer
// for valid JSON is what the Token walk gave (FuzzCheckJSONAsTokens).
type jsonScan struct {
	b   []byte
	i   int
	bad bool
}

// maxJSONDepth is encoding/json's own nesting limit.
const maxJSONDepth = 10000

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str reads the string at s.i (its opening quote) and returns it decoded.
func (s *jsonScan) str() string {
	s.i++
	start, plain := s.i, true
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if plain {
				return string(raw)
			}
			var k string
			if json.Unmarshal(s.b[start-1:s.i], &k) != nil {
				s.bad = true
			}
			return k
		case c == '\\':
			plain = false
			s.i += 2
		case c >= 0x80:
			plain = false // decoded as the decoder would (invalid UTF-8: U+FFFD)
			s.i++
		default:
			s.i++
		}
	}
	s.bad = true
	return ""
}

// value walks one value and returns the path of the first key given twice
// in it, innermost segment first (nil: none, or malformed).
func (s *jsonScan) value(depth int) []string {
	s.ws()
	if s.i >= len(s.b) || depth > maxJSONDepth {
		s.bad = true
		return nil
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		var seen []string // objects are small: a scan beats a map
		for n := 0; ; n++ {
			s.ws()
			if n == 0 && s.i < len(s.b) && s.b[s.i] == '}' {
				s.i++
				return nil
			}
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				s.bad = true
				return nil
			}
			k := s.str()
			if s.bad {
				return nil
			}
			if slices.Contains(seen, k) {
				return []string{k}
			}
			seen = append(seen, k)
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				s.bad = true
				return nil
			}
			s.i++
			if rev := s.value(depth + 1); rev != nil {
				return append(rev, k)
			}
			if s.bad {
				return nil
			}
			if !s.next('}') {
				return nil
			}
		}
	case '[':
		s.i++
		for n := 0; ; n++ {
			s.ws()
			if n == 0 && s.i < len(s.b) && s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if rev := s.value(depth + 1); rev != nil {
				return append(rev, "["+strconv.Itoa(n)+"]")
			}
			if s.bad {
				return nil
			}
			if !s.next(']') {
				return nil
			}
		}
	case '"':
		s.str()
	default: // a number or a literal: up to the next delimiter
	scalar:
		for ; s.i < len(s.b); s.i++ {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				break scalar
			}
		}
	}
	return nil
}

// next consumes a comma (true: another member follows) or the closing
// delimiter (false); anything else marks the document malformed.
func (s *jsonScan) next(closing byte) bool {
	s.ws()
	switch {
	case s.i < len(s.b) && s.b[s.i] == ',':
		s.i++
		return true
	case s.i < len(s.b) && s.b[s.i] == closing:
		s.i++
	default:
		s.bad = true
	}
	return false
}

// jsonPath joins jsonScan's segments, outermost first: a.b[2].c.
func jsonPath(rev []string) string {
	var b strings.Builder
	for i := len(rev) - 1; i >= 0; i-- {
		if b.Len() > 0 && !strings.HasPrefix(rev[i], "[") {
			b.WriteByte('.')
		}
		b.WriteString(rev[i])
	}
	return b.String()
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d characters)", s[:n], len(s))
}

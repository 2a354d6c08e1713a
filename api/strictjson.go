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
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if rev := walkJSON(dec); rev != nil {
		return badRequest("%s: appears twice in the object; give each key once", truncate(jsonPath(rev), 200))
	}
	return nil
}

// walkJSON reads one value from dec and returns the path of the first key
// given twice in it, innermost segment first (nil: none). The path is
// built only then: bid bodies of thousands of objects are checked on
// every write, and building every key's path was most of the check.
func walkJSON(dec *json.Decoder) []string {
	tok, err := dec.Token()
	if err != nil {
		return nil // the decoder reports it with its offset
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		var seen []string // objects are small: a scan beats a map
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			k, _ := kt.(string)
			if slices.Contains(seen, k) {
				return []string{k}
			}
			seen = append(seen, k)
			if rev := walkJSON(dec); rev != nil {
				return append(rev, k)
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if rev := walkJSON(dec); rev != nil {
				return append(rev, "["+strconv.Itoa(i)+"]")
			}
		}
	default:
		return nil
	}
	_, _ = dec.Token() // the closing delimiter
	return nil
}

// jsonPath joins walkJSON's segments, outermost first: a.b[2].c.
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

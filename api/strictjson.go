package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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
	return walkJSON(dec, "")
}

// walkJSON reads one value from dec; path names it in errors.
func walkJSON(dec *json.Decoder, path string) error {
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
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			k, _ := kt.(string)
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seen[k] {
				return badRequest("%s: appears twice in the object; give each key once", truncate(p, 200))
			}
			seen[k] = true
			if err := walkJSON(dec, p); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, _ = dec.Token() // the closing delimiter
	return nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d characters)", s[:n], len(s))
}

package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain_JSONAndMPS(t *testing.T) {
	mps := filepath.Join(t.TempDir(), "lp.mps")
	var out, errb bytes.Buffer
	if code := Main([]string{"--services", "300", "--nodes", "4", "--seed", "3", "--repeat", "1", "--mps", mps, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"services", "nodes", "solve_ms", "sort_ms", "ratio", "objective", "gap", "hash", "lp_objective"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("missing %q in %s", k, out.String())
		}
	}
	if doc["gap"].(float64) > 1e-6 || doc["lp_objective"] != doc["objective"] {
		t.Errorf("gap %v, lp_objective %v, objective %v", doc["gap"], doc["lp_objective"], doc["objective"])
	}
	b, err := os.ReadFile(mps)
	if err != nil || !strings.HasPrefix(string(b), "NAME ") || !strings.HasSuffix(string(b), "ENDATA\n") {
		t.Fatalf("mps: %v %.40q", err, b)
	}
	// Same seed, same hash.
	var again bytes.Buffer
	Main([]string{"--services", "300", "--nodes", "4", "--seed", "3", "--repeat", "1", "--json"}, &again, &errb)
	var doc2 map[string]any
	json.Unmarshal(again.Bytes(), &doc2)
	if doc2["hash"] != doc["hash"] {
		t.Fatalf("same seed, hashes %v and %v", doc["hash"], doc2["hash"])
	}
}

func TestMain_Usage(t *testing.T) {
	for _, args := range [][]string{{}, {"--services", "0"}, {"--services", "x"}, {"--services", "10", "extra"}, {"--services", "10", "--nodes", "-1"}} {
		var out, errb bytes.Buffer
		if code := Main(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

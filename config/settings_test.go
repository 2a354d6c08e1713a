package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

var updateDoc = flag.Bool("update", false, "rewrite docs/CONFIG.md from the settings table")

func tableSet(get func(Setting) string) []string {
	var out []string
	for _, s := range Settings {
		if v := get(s); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func same(t *testing.T, what string, table, actual []string) {
	t.Helper()
	slices.Sort(actual)
	actual = slices.Compact(actual)
	for _, a := range actual {
		if !slices.Contains(table, a) {
			t.Errorf("%s %q is not in the settings table (config/settings.go)", what, a)
		}
	}
	for _, s := range table {
		if !slices.Contains(actual, s) {
			t.Errorf("%s %q is in the settings table but not in the code", what, s)
		}
	}
}

// The flags Load defines are the table's.
func TestSettingsTableFlags(t *testing.T) {
	var out bytes.Buffer
	Load([]string{"-h"}, nil, &out)
	var flags []string
	for _, l := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(l, "  -"); ok {
			flags = append(flags, strings.Fields(rest)[0])
		}
	}
	same(t, "flag", tableSet(func(s Setting) string { return s.Flag }), flags)
}

// The environment variables Load reads are the table's, current and
// deprecated names.
func TestSettingsTableEnv(t *testing.T) {
	var read []string
	Load([]string{"--server", "--data-dir", "d"}, func(k string) string { read = append(read, k); return "" }, io.Discard)
	table := append(tableSet(func(s Setting) string { return s.Env }), tableSet(func(s Setting) string { return s.OldEnv })...)
	slices.Sort(table)
	same(t, "environment variable", table, read)
	for _, s := range Settings {
		if s.Key != "" && s.Env != "" && s.Env != EnvName(s.Key) {
			t.Errorf("%s: env %s is not %s, the name derived from the key", s.Key, s.Env, EnvName(s.Key))
		}
	}
}

// Every key of the table is accepted in a file, in HCL and JSON, and sets
// its field; nothing else is (the schema is the table).
func TestSettingsTableKeysDecode(t *testing.T) {
	for _, s := range Settings {
		if s.Key == "" || s.kind == kSection || s.kind == kServices {
			continue
		}
		var val, jval string
		switch s.kind {
		case kBool, kNotBool:
			val, jval = "true", "true"
		case kInt, kUint:
			val, jval = "2", "2"
		case kFloat:
			val, jval = "0.1", "0.1"
		case kDuration:
			val, jval = `"2s"`, `"2s"`
		case kSize:
			val, jval = `"2MiB"`, `"2MiB"`
		case kList:
			val, jval = `["8:0"]`, `["8:0"]`
		case kQuantities:
			val, jval = `{ cpu = "1" }`, `{"cpu": "1"}`
		default:
			val, jval = `"x"`, `"x"`
		}
		parts := strings.Split(s.Key, ".")
		hcl, js := "", ""
		for _, p := range parts[:len(parts)-1] {
			hcl += p + " {\n"
			js += `{"` + p + `": `
		}
		js += `{"` + parts[len(parts)-1] + `": ` + jval + `}`
		sep := " = "
		if s.kind == kQuantities {
			sep = " "
		}
		hcl += parts[len(parts)-1] + sep + val + "\n" + strings.Repeat("}\n", len(parts)-1)
		js += strings.Repeat("}", len(parts)-1)
		for name, src := range map[string]string{"a.hcl": hcl, "a.json": js} {
			var c Config
			if err := c.mergeSource(name, []byte(src)); err != nil {
				t.Errorf("%s in %s: %v\n%s", s.Key, name, err, src)
				continue
			}
			if _, ok := c.src[s.Key]; !ok {
				t.Errorf("%s in %s: decoded but not set", s.Key, name)
			}
		}
	}
}

// Unknown blocks and attributes, anywhere, are errors with a hint.
func TestUnknownKeysDidYouMean(t *testing.T) {
	for src, want := range map[string]string{
		"acls {\n enabled = true\n}\n":                 `Did you mean "acl"?`,
		"server {\n epoc = \"5s\"\n}\n":                `Did you mean "epoch"?`,
		"client {\n docker {\n socet = \"/x\"\n}\n}\n": `Did you mean "socket"?`,
		`{"server": {"bid_tll": 3}}`:                   `Did you mean "bid_ttl"?`,
		"bogus {\n x = 1\n}\n":                         "bogus",
	} {
		name := "a.hcl"
		if strings.HasPrefix(src, "{") {
			name = "a.json"
		}
		var c Config
		err := c.mergeSource(name, []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", src, err, want)
		}
	}
}

// The defaults come from the table, and its solver defaults are the
// solver's own.
func TestDefaultsFromTable(t *testing.T) {
	d := Defaults()
	if !reflect.DeepEqual(d.Solver, bidding.DefaultOptions()) {
		t.Errorf("solver defaults in the table %+v differ from bidding.DefaultOptions %+v", d.Solver, bidding.DefaultOptions())
	}
	if d.Epoch != 5*time.Minute || d.HTTPAddr != "127.0.0.1:7480" || d.BidTTL != 3 || d.PlanHistoryBytes != DefaultPlanHistoryBytes || d.CgroupParent != "/allot" {
		t.Errorf("defaults: %+v", d)
	}
}

// Issue 14: env names derive from the keys; the old names still work, with
// a warning, and lose to the new ones.
func TestDeprecatedEnvNames(t *testing.T) {
	env := map[string]string{"ALLOT_BIND": "127.0.0.2", "ALLOT_AGENT_HTTP_ADDR": "127.0.0.1:9999", "ALLOT_HTTP_ADDR": "127.0.0.1:8888", "ALLOT_NODE": "old-name"}
	var out bytes.Buffer
	c, err := Load([]string{"--server", "--data-dir", t.TempDir()}, func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bind != "127.0.0.2" || c.NodeName != "old-name" || c.HTTPAddr != "127.0.0.1:8888" {
		t.Fatalf("bind %q node %q http %q", c.Bind, c.NodeName, c.HTTPAddr)
	}
	for _, w := range []string{"ALLOT_BIND is deprecated; use ALLOT_BIND_ADDR", "ALLOT_NODE is deprecated; use ALLOT_NODE_NAME", "ALLOT_AGENT_HTTP_ADDR is deprecated and ignored: ALLOT_HTTP_ADDR is set"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("no warning %q in:\n%s", w, out.String())
		}
	}
	// The CLI's form of the address is refused with a hint, before binding.
	env = map[string]string{"ALLOT_HTTP_ADDR": "https://10.0.0.1:7480"}
	_, err = Load([]string{"--server", "--data-dir", t.TempDir()}, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "give the agent --http-addr") {
		t.Fatalf("CLI-style ALLOT_HTTP_ADDR: %v", err)
	}
}

// -h prints every flag with its env and returns flag.ErrHelp (the CLI
// tells help from a usage error by it).
func TestHelpIsErrHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Load([]string{"--help"}, nil, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
	for _, w := range []string{"-epoch", "env ALLOT_SERVER_EPOCH", "(default 5m)", "-bind", "env ALLOT_BIND_ADDR"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q:\n%s", w, out.String())
		}
	}
	if _, err := Load([]string{"--bogus"}, nil, &out); err == nil || errors.Is(err, flag.ErrHelp) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unknown flag: %v", err)
	}
}

// docs/CONFIG.md is generated from the table.
func TestConfigDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "CONFIG.md")
	want := ConfigDoc()
	if *updateDoc {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/CONFIG.md is not what the settings table generates (%v): run go test ./config -run TestConfigDoc -update", err)
	}
}

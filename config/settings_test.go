package config

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
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

// The environment variables Load reads are the table's.
func TestSettingsTableEnv(t *testing.T) {
	var read []string
	Load([]string{"--server", "--data-dir", "d"}, func(k string) string { read = append(read, k); return "" }, io.Discard)
	same(t, "environment variable", tableSet(func(s Setting) string { return s.Env }), read)
}

// The keys the file decoder accepts are the table's.
func TestSettingsTableKeys(t *testing.T) {
	var keys []string
	var walk func(prefix string, rt reflect.Type)
	walk = func(prefix string, rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
			rt = rt.Elem()
		}
		for i := 0; i < rt.NumField(); i++ {
			name, kind, _ := strings.Cut(rt.Field(i).Tag.Get("hcl"), ",")
			if name == "" {
				continue
			}
			key := prefix + name
			ft := rt.Field(i).Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			leaf := kind != "block" || ft == reflect.TypeFor[Quantities]() || ft == reflect.TypeFor[serviceBlock]()
			if leaf || prefix != "" { // top-level sections (server { … }) are not keys of their own
				keys = append(keys, key)
			}
			if !leaf {
				walk(key+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[file]())
	same(t, "config key", tableSet(func(s Setting) string { return s.Key }), keys)
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

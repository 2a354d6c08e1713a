package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIODevices(t *testing.T) {
	dir := t.TempDir()
	load := func(devices string) (*Config, error) {
		f := filepath.Join(dir, "c.hcl")
		src := `data_dir = "/tmp/x"
client { enabled = true  io_devices = ` + devices + ` }`
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load([]string{"--config", f}, nil, io.Discard)
	}
	c, err := load(`["8:0", "254:16"]`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.IODevices, ",") != "8:0,254:16" {
		t.Fatalf("io devices %q", c.IODevices)
	}
	for _, bad := range []string{`["/dev/sda"]`, `["8"]`, `["8:x"]`, `["8:0", "8:0"]`} {
		_, err := load(bad)
		if err == nil || !strings.Contains(err.Error(), "client.io_devices in c.hcl") {
			t.Errorf("io_devices = %s: %v", bad, err)
		}
	}
	if d := Defaults(); d.IODevices != nil {
		t.Fatalf("default io devices %q", d.IODevices)
	}
}

func TestClientPolicy(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ policy, err string }{
		{`"static"`, ""},
		{`"allot"`, ""},
		{`"vpa"`, `client.policy in c.hcl: "vpa" is not allowed: allot, static`},
	} {
		f := filepath.Join(dir, "c.hcl")
		src := `data_dir = "/tmp/x"
client { enabled = true  policy = ` + tc.policy + ` }`
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load([]string{"--config", f}, nil, io.Discard)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("policy = %s: %v", tc.policy, err)
		case tc.err == "" && `"`+c.ClientPolicy+`"` != tc.policy:
			t.Errorf("policy = %s: loaded %q", tc.policy, c.ClientPolicy)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("policy = %s: %v, want %q", tc.policy, err, tc.err)
		}
	}
}

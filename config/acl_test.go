package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestACLSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The contract's one-line form, with Consul's tokens block.
	hcl := write("acl.hcl", "acl { enabled = true  tokens { agent = \"s3cr3t\" } }\n")
	c, err := Load([]string{"--server", "--data-dir", "d", "--config", hcl}, nil, io.Discard)
	if err != nil {
		t.Fatalf("acl { enabled = true } refused: %v", err)
	}
	if !c.ACLEnabled || c.ACLAgentToken != "s3cr3t" {
		t.Fatalf("acl settings not loaded: enabled=%v agent token set=%v", c.ACLEnabled, c.ACLAgentToken != "")
	}
	// The same keys as JSON.
	js := write("acl.json", `{"acl": {"enabled": true, "tokens": {"agent": "j"}}}`)
	if c, err := Load([]string{"--server", "--data-dir", "d", "--config", js}, nil, io.Discard); err != nil || !c.ACLEnabled || c.ACLAgentToken != "j" {
		t.Fatalf("JSON acl block: %v", err)
	}
	// Off by default.
	if c, err := Load([]string{"--server", "--data-dir", "d"}, nil, io.Discard); err != nil || c.ACLEnabled {
		t.Fatalf("ACLs on by default (%v)", err)
	}
	// Environment overrides the file.
	env := map[string]string{"ALLOT_ACL_ENABLED": "false", "ALLOT_ACL_TOKENS_AGENT": "from-env"}
	c, err = Load([]string{"--server", "--data-dir", "d", "--config", hcl}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.ACLEnabled || c.ACLAgentToken != "from-env" {
		t.Fatalf("env did not override the file: %v", err)
	}
	env = map[string]string{"ALLOT_ACL_ENABLED": "maybe"}
	if _, err := Load([]string{"--server", "--data-dir", "d"}, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "ALLOT_ACL_ENABLED") {
		t.Fatalf("bad ALLOT_ACL_ENABLED: %v", err)
	}
	bad := write("bad.hcl", "acl {\n enabled = \"yes please\"\n}\n")
	if _, err := Load([]string{"--server", "--data-dir", "d", "--config", bad}, nil, io.Discard); err == nil {
		t.Fatal("a non-boolean acl.enabled was accepted")
	}
	ws := write("ws.hcl", "acl {\n tokens {\n agent = \"a b\"\n }\n}\n")
	if _, err := Load([]string{"--server", "--data-dir", "d", "--config", ws}, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "acl.tokens.agent") {
		t.Fatalf("agent token with whitespace: %v", err)
	}
}

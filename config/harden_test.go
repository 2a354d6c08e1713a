package config

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Finding 2 of issue 13: unknown blocks and attributes in an HCL (or JSON)
// file are errors, with a "did you mean" hint where one is close.
func TestUnknownKeysRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"typo block", `acls { enabled = true }`, []string{"acls", `did you mean "acl"`}},
		{"bogus block", `bogus { x = 1 }`, []string{"bogus"}},
		{"typo attribute", `node_nam = "x"`, []string{"node_nam", `did you mean "node_name"`}},
		{"nested attribute", `server { epok = "1m" }`, []string{"epok", `did you mean "epoch"`}},
		{"nested block", `acl { token { agent = "x" } }`, []string{"token", `did you mean "tokens"`}},
		{"json block", `{"acls": {"enabled": true}}`, []string{"acls", `did you mean "acl"`}},
		{"json attribute", `{"server": {"epok": "1m"}}`, []string{"epok", `did you mean "epoch"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := ".hcl"
			if strings.HasPrefix(tc.body, "{") {
				ext = ".json"
			}
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+ext)
			os.WriteFile(f, []byte(tc.body), 0o644)
			_, err := Load([]string{"--server", "--data-dir", "d", "--config", f}, nil, io.Discard)
			if err == nil {
				t.Fatalf("%s accepted", tc.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// Finding 12 of issue 13: config gaps that failed after binding, or not at
// all, are refused by Load, before the agent binds anything.
func TestConfigGapsRefused(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(body), 0o644)
		return f
	}
	base := []string{"--server", "--data-dir", "d"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"election below heartbeat", []string{"--config", file("el.hcl", `server { raft_heartbeat = "1s"  raft_election = "500ms" }`)}, "raft_election"},
		{"election too long", []string{"--config", file("el1h.hcl", `server { raft_election = "1h" }`)}, "raft_election"},
		{"trailing logs too few", []string{"--config", file("tl.hcl", `server { raft_trailing_logs = 10 }`)}, "raft_trailing_logs"},
		{"snapshot interval too short", []string{"--config", file("si.hcl", `server { raft_snapshot_interval = "10ms" }`)}, "raft_snapshot_interval"},
		{"snapshot threshold negative", []string{"--config", file("st.hcl", `server { raft_snapshot_threshold = -1 }`)}, "raft_snapshot_threshold"},
		{"http port is the gossip port", []string{"--http-addr", "127.0.0.1:7481"}, "flag --http-addr"},
		{"http port is the raft port", []string{"--http-addr", "127.0.0.1:7482"}, "flag --http-addr"},
		{"json root is a list", []string{"--config", file("root.json", `[]`)}, "root.json"},
		{"json root is a string", []string{"--config", file("roots.json", `"x"`)}, "roots.json"},
		{"bid_ttl as a string", []string{"--config", file("ttl.json", `{"server": {"bid_ttl": "3"}}`)}, "bid_ttl"},
		{"hcl number as a string", []string{"--config", file("ttl.hcl", `server { min_quorum = "3" }`)}, "min_quorum"},
		{"bool as a string", []string{"--config", file("b.json", `{"acl": {"enabled": "true"}}`)}, "enabled"},
		{"min_quorum above any cluster", []string{"--config", file("mq.hcl", `server { min_quorum = 100 }`)}, "min_quorum"},
		{"join not an address", []string{"--join", "::::"}, "flag --join"},
		{"join empty host", []string{"--join", ":7481"}, "flag --join"},
		{"join bad port", []string{"--join", "10.0.0.1:99999"}, "flag --join"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(append(append([]string{}, base...), tc.args...), nil, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: error %v, want one naming %q", tc.args, err, tc.want)
			}
		})
	}
	if _, err := Load([]string{"--dev", "--data-dir", "d"}, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "--dev") {
		t.Errorf("--dev with --data-dir (silently in memory): error %v", err)
	}
	for _, ok := range [][]string{{"--join", "10.0.0.1"}, {"--join", "10.0.0.1:7481"}, {"--join", "[::1]:7481"}, {"--join", "server-1.example:7481"}} {
		if _, err := Load(append(append([]string{}, base...), ok...), nil, io.Discard); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}

// A usage error is one line and a hint, not the whole usage text.
func TestUsageErrorIsShort(t *testing.T) {
	var out bytes.Buffer
	_, err := Load([]string{"--no-such-flag"}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "no-such-flag") || !strings.Contains(err.Error(), "allot agent -h") {
		t.Fatalf("error %v", err)
	}
	if n := strings.Count(out.String(), "\n"); n > 1 {
		t.Fatalf("usage error printed %d lines:\n%s", n, out.String())
	}
	out.Reset()
	if _, err := Load([]string{"-h"}, nil, &out); err == nil || !strings.Contains(out.String(), "-data-dir") {
		t.Fatalf("-h: %v, output %q", err, out.String())
	}
}

// Finding 8 of issue 13: the config path and the API refuse the same service
// fields with the same function (bidding.Service.ValidateNew).
func TestServiceFieldsValidatedLikeTheAPI(t *testing.T) {
	for body, want := range map[string]string{
		`service "s" { cgroup = "../../../etc" }`:                     "cgroup",
		`service "s" { interface = "eth0; rm -rf /" }`:                "interface",
		`service "s" { forecast { model = "crystal-ball" } }`:         "forecast.model",
		`service "s" { forecast { interval = "bogus" } }`:             "forecast.interval",
		`service "s" { forecast { interval = "48h" } }`:               "forecast.interval",
		`service "s" { cgroup = "` + strings.Repeat("c", 300) + `" }`: "cgroup",
	} {
		if _, err := ParseServices("s.hcl", []byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: error %v, want one naming %q", body, err, want)
		}
	}
}

// Finding 13 of issue 13: --encrypt shows the key in ps; the key can come
// from a file (or the environment) instead.
func TestEncryptFile(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "gossip.key")
	os.WriteFile(key, []byte("  hMmAMBbKiTBA5ZJ1NvzRXhCAvKMUnbpwhZo5tn0nLlM=\n"), 0o600)
	c, err := Load([]string{"--server", "--data-dir", "d", "--encrypt-file", key}, nil, io.Discard)
	if err != nil || len(c.EncryptKey()) != 32 {
		t.Fatalf("--encrypt-file: %v", err)
	}
	f := filepath.Join(dir, "a.hcl")
	os.WriteFile(f, []byte(`gossip { encrypt_file = "`+key+`" }`), 0o644)
	if c, err := Load([]string{"--server", "--data-dir", "d", "--config", f}, nil, io.Discard); err != nil || len(c.EncryptKey()) != 32 {
		t.Fatalf("gossip.encrypt_file: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("short"), 0o600)
	for _, args := range [][]string{{"--encrypt-file", bad}, {"--encrypt-file", filepath.Join(dir, "missing")}, {"--encrypt-file", key, "--encrypt", "hMmAMBbKiTBA5ZJ1NvzRXhCAvKMUnbpwhZo5tn0nLlM="}} {
		_, err := Load(append([]string{"--server", "--data-dir", "d"}, args...), nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--encrypt-file") {
			t.Errorf("%v: error %v, want one naming --encrypt-file", args, err)
		}
	}
}

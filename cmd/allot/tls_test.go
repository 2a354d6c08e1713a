package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/agent"
	"github.com/allot-dev/allot/config"
	"github.com/hashicorp/go-hclog"
)

// allot runs the CLI with env and returns its exit code, stdout and stderr.
func allot(env map[string]string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestTLSCommands(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string // in stdout (success) or stderr
	}{
		{[]string{"tls", "ca", "create", "--dir", dir}, 0, "allot-agent-ca.pem"},
		{[]string{"tls", "ca", "create", "--dir", dir}, 1, "refusing to overwrite"},
		// --dir is created, with its parents (issue 14: the README's recipe failed on a fresh checkout)
		{[]string{"tls", "ca", "create", "--dir", filepath.Join(dir, "new", "certs")}, 0, filepath.Join(dir, "new", "certs", "allot-agent-ca.pem")},
		{[]string{"tls", "cert", "create", "--server", "--dir", dir}, 0, "dc-server-allot-0.pem"},
		{[]string{"tls", "cert", "create", "--server", "--dir", dir, "--additional-ipaddress", "10.0.0.9", "--additional-dnsname", "n2.example"}, 0, "dc-server-allot-1-key.pem"},
		{[]string{"tls", "cert", "create", "--client", "--dir", dir}, 0, "dc-client-allot-0.pem"},
		{[]string{"--json", "tls", "cert", "create", "--client", "--dir", dir}, 0, `"cert_file"`},
		{[]string{"tls", "cert", "create", "--dir", dir}, 2, "exactly one of --server or --client"},
		{[]string{"tls", "cert", "create", "--server", "--client", "--dir", dir}, 2, "exactly one"},
		{[]string{"tls", "cert", "create", "--server", "--dir", dir, "--additional-ipaddress", "ten"}, 2, "not an IP address"},
		{[]string{"tls", "cert", "create", "--server", "--dir", t.TempDir()}, 1, "reading CA file"},
		{[]string{"tls", "ca", "remove"}, 2, "expected"},
		{[]string{"tls"}, 2, "expected"},
	}
	for _, c := range cases {
		code, out, errs := allot(nil, c.args...)
		text := out
		if c.code != 0 {
			text = errs
		}
		if code != c.code || !strings.Contains(text, c.want) {
			t.Errorf("allot %v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	// The --json answer names files that exist.
	_, out, _ := allot(nil, "tls", "cert", "create", "--client", "--dir", dir, "--json")
	var files map[string]string
	if err := json.Unmarshal([]byte(out), &files); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestCLIOverMutualTLS runs a --dev agent with mutual TLS and the CLI
// against it: with --ca-file, --client-cert and --client-key (or their
// ALLOT_* variables, or an https:// address) it works; plain HTTP, no
// client certificate, or an unreadable file fail with a clear message.
func TestCLIOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	for _, a := range [][]string{{"tls", "ca", "create", "--dir", dir}, {"tls", "cert", "create", "--server", "--dir", dir}, {"tls", "cert", "create", "--client", "--dir", dir}} {
		if code, _, errs := allot(nil, a...); code != 0 {
			t.Fatalf("allot %v: %s", a, errs)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg, err := config.Load([]string{"--dev", "--http-addr", addr, "--tls-ca", p("allot-agent-ca.pem"),
		"--tls-cert", p("dc-server-allot-0.pem"), "--tls-key", p("dc-server-allot-0-key.pem")}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(cfg, hclog.NewNullLogger(), "test")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	tlsArgs := []string{"--http-addr", addr, "--ca-file", p("allot-agent-ca.pem"), "--client-cert", p("dc-client-allot-0.pem"), "--client-key", p("dc-client-allot-0-key.pem")}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, _, errs := allot(nil, append(tlsArgs, "health")...)
		if code == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("agent never healthy over TLS: %s", errs)
		}
	}
	env := map[string]string{"ALLOT_HTTP_ADDR": addr, "ALLOT_CA_FILE": p("allot-agent-ca.pem"),
		"ALLOT_CLIENT_CERT": p("dc-client-allot-0.pem"), "ALLOT_CLIENT_KEY": p("dc-client-allot-0-key.pem")}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"flags", nil, append(append([]string{}, tlsArgs...), "operator", "raft", "list-peers"), 0, "dev"},
		{"flags after the command", nil, append([]string{"operator", "raft", "list-peers"}, tlsArgs...), 0, "dev"},
		{"environment", env, []string{"operator", "raft", "list-peers"}, 0, "dev"},
		{"https address", nil, []string{"--http-addr", "https://" + addr, "--ca-file", p("allot-agent-ca.pem"), "--client-cert", p("dc-client-allot-0.pem"),
			"--client-key", p("dc-client-allot-0-key.pem"), "operator", "raft", "list-peers"}, 0, "dev"},
		{"plain HTTP", nil, []string{"--http-addr", addr, "operator", "raft", "list-peers"}, 1, "serves HTTPS"},
		{"no client certificate", nil, []string{"--http-addr", addr, "--ca-file", p("allot-agent-ca.pem"), "operator", "raft", "list-peers"}, 1, "client certificate"},
		{"server name mismatch", nil, append(append([]string{}, tlsArgs...), "--tls-server-name", "client.allot", "health"), 1, "not trusted"},
		{"unreadable CA file", nil, []string{"--http-addr", addr, "--ca-file", p("nope.pem"), "health"}, 2, `--ca-file: "` + p("nope.pem")},
		{"key without certificate", nil, []string{"--http-addr", addr, "--ca-file", p("allot-agent-ca.pem"), "--client-key", p("dc-client-allot-0-key.pem"), "health"}, 2, "--client-cert"},
		{"key of another certificate", nil, append(append([]string{}, tlsArgs[:6]...), "--client-key", p("dc-server-allot-0-key.pem"), "health"), 2, "--client-key"},
	}
	for _, c := range cases {
		code, out, errs := allot(c.env, c.args...)
		text := out
		if c.code != 0 {
			text = errs
		}
		if code != c.code || !strings.Contains(text, c.want) {
			t.Errorf("%s: allot %v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.name, c.args, code, out, errs, c.code, c.want)
		}
	}
}

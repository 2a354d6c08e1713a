package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/internal/testcluster"
)

// runCLI runs the CLI in-process against addr with the given environment.
func runCLI(addr string, env map[string]string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "ALLOT_HTTP_ADDR" {
			return addr
		}
		return env[k]
	}
	code := run(args, &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func TestACLCommands(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour, testcluster.WithACL())
	n := c.Leader(10 * time.Second)
	addr := n.HTTP.Listener.Addr().String()

	code, out, errs := runCLI(addr, nil, "acl", "bootstrap", "--json")
	if code != 0 {
		t.Fatalf("bootstrap: exit %d: %s", code, errs)
	}
	var boot api.ACLTokenView
	if err := json.Unmarshal([]byte(out), &boot); err != nil || boot.SecretID == "" || boot.Policy != "operator" {
		t.Fatalf("bootstrap --json: %q %v", out, err)
	}
	// A second bootstrap is an API error: exit 1 with the message.
	if code, _, errs := runCLI(addr, nil, "acl", "bootstrap"); code != 1 || !strings.Contains(errs, "no longer allowed") {
		t.Fatalf("second bootstrap: exit %d: %s", code, errs)
	}
	// Without a token the API refuses (exit 1), with --token or ALLOT_TOKEN it works.
	if code, _, errs := runCLI(addr, nil, "acl", "token", "list"); code != 1 || !strings.Contains(errs, "missing X-Allot-Token") {
		t.Fatalf("list without a token: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(addr, nil, "--token", "wrong", "services"); code != 1 || !strings.Contains(errs, "ACL token not found") {
		t.Fatalf("wrong token: exit %d: %s", code, errs)
	}
	env := map[string]string{"ALLOT_TOKEN": boot.SecretID}
	code, out, errs = runCLI(addr, env, "acl", "token", "create", "--policy", "bid", "--service", "web", "--description", "web's client")
	if code != 0 || !strings.Contains(out, "SecretID:") || !strings.Contains(out, "Service:      web") {
		t.Fatalf("create: exit %d: %s %s", code, out, errs)
	}
	code, out, errs = runCLI(addr, nil, "acl", "token", "create", "--policy", "read", "--token", boot.SecretID, "--json")
	var read api.ACLTokenView
	if code != 0 || json.Unmarshal([]byte(out), &read) != nil || read.Policy != "read" {
		t.Fatalf("create read --json: exit %d: %s %s", code, out, errs)
	}
	code, out, errs = runCLI(addr, env, "acl", "token", "list")
	if code != 0 || !strings.Contains(out, "AccessorID") || !strings.Contains(out, read.AccessorID) || strings.Contains(out, read.SecretID) || strings.Contains(out, boot.SecretID) {
		t.Fatalf("list: exit %d: %s %s", code, out, errs)
	}
	// The read token may read but not list tokens or register services.
	if code, out, _ := runCLI(addr, map[string]string{"ALLOT_TOKEN": read.SecretID}, "acl", "token", "self", "--json"); code != 0 || !strings.Contains(out, `"policy": "read"`) {
		t.Fatalf("self: exit %d: %s", code, out)
	}
	if code, _, errs := runCLI(addr, map[string]string{"ALLOT_TOKEN": read.SecretID}, "acl", "token", "list"); code != 1 || !strings.Contains(errs, "permission denied") {
		t.Fatalf("list with a read token: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(addr, env, "acl", "token", "delete", read.AccessorID); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(addr, env, "acl", "token", "delete", read.AccessorID); code != 1 || !strings.Contains(errs, "does not exist") {
		t.Fatalf("delete again: exit %d: %s", code, errs)
	}
	// Usage errors exit 2 before any request.
	for _, args := range [][]string{
		{"acl"},
		{"acl", "nope"},
		{"acl", "token"},
		{"acl", "token", "create"},
		{"acl", "token", "create", "--policy", "root"},
		{"acl", "token", "create", "--policy", "bid"},
		{"acl", "token", "create", "--policy", "read", "--service", "web"},
		{"acl", "token", "create", "--policy", "read", "extra"},
		{"acl", "token", "create", "--bogus"},
		{"acl", "token", "delete"},
		{"acl", "token", "list", "x"},
		{"acl", "bootstrap", "x"},
	} {
		if code, _, errs := runCLI(addr, env, args...); code != 2 {
			t.Fatalf("%v: exit %d (%s), want 2", args, code, errs)
		}
	}
}

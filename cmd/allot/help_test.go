package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/spf13/cobra"
)

// commandPaths walks the one command tree: every command a user can type
// (hidden ones, such as cobra's __complete, left out).
func commandPaths() [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, s := range c.Commands() {
			if s.Hidden {
				continue
			}
			walk(s, append(append([]string{}, path...), s.Name()))
		}
	}
	e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	root := newRoot(e)
	root.InitDefaultHelpCmd()
	walk(root, nil)
	return out
}

// noAPI is an agent that fails the test on any request: help must never
// run a command (issue 14: `allot leave --help` used to make the agent leave).
func noAPI(t *testing.T) map[string]string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("help sent a request: %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return map[string]string{"ALLOT_HTTP_ADDR": srv.Listener.Addr().String()}
}

func TestEveryCommandHasHelp(t *testing.T) {
	env := noAPI(t)
	paths := commandPaths()
	if len(paths) < 35 {
		t.Fatalf("only %d commands in the tree", len(paths))
	}
	for _, p := range paths {
		name := strings.Join(append([]string{"allot"}, p...), " ")
		forms := [][]string{
			append(append([]string{}, p...), "--help"),
			append(append([]string{}, p...), "-h"),
			append([]string{"help"}, p...),
		}
		for _, args := range forms {
			code, out, errs := allot(env, args...)
			if code != exitOK || errs != "" {
				t.Errorf("allot %s: exit %d, stderr %q; want 0 and nothing on stderr", strings.Join(args, " "), code, errs)
				continue
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") || !strings.Contains(out, name) || strings.Contains(out, "panic") {
				t.Errorf("allot %s: help lacks usage, examples or %q:\n%s", strings.Join(args, " "), name, out)
			}
		}
	}
}

func TestUnknownFlagIsOneLineUsageError(t *testing.T) {
	env := noAPI(t)
	for _, p := range commandPaths() {
		if len(p) > 0 && p[0] == "help" {
			continue // help takes topics, not flags
		}
		args := append(append([]string{}, p...), "--no-such-flag")
		code, out, errs := allot(env, args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "no-such-flag") {
			t.Errorf("allot %s: exit %d, stdout %q, stderr %q; want exit 2 and one line naming the flag", strings.Join(args, " "), code, out, errs)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	env := noAPI(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "a command is required (run 'allot --help')"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"help", "nope"}, `unknown help topic "nope"`},
		{[]string{"join"}, "allot join: expected at least one address (allot join HOST:PORT) (run 'allot join --help')"},
		{[]string{"leave", "now"}, `allot leave: unexpected argument "now"`},
		{[]string{"plan", "explain"}, "expected one SERVICE"},
		{[]string{"plan", "--epoch", "x"}, `invalid argument "x" for "--epoch"`},
		{[]string{"operator"}, "expected a subcommand: raft"},
		{[]string{"operator", "raft", "remove-peer"}, "--id is required"},
		{[]string{"boost"}, "expected one SERVICE"},
		{[]string{"bench", "solver", "--services", "0"}, "--services 0"},
		{[]string{"sim"}, "--trace DIR or --scenario FILE is required"},
		{[]string{"agent", "--bogus"}, "bogus"},
	} {
		code, out, errs := allot(env, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("allot %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
}

func TestVersionAndCompletion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := allot(nil, args...)
		if code != 0 || !strings.HasPrefix(out, "allot "+version+" (commit ") || !strings.Contains(out, "go1.") {
			t.Errorf("allot %v: exit %d %q", args, code, out)
		}
	}
	if code, out, _ := allot(nil, "version", "--json"); code != 0 || !strings.Contains(out, `"go_version"`) || !strings.Contains(out, `"build_date"`) {
		t.Errorf("version --json: exit %d %q", code, out)
	}
	for shell, marker := range map[string]string{"bash": "complete -o default -F __start_allot allot", "zsh": "#compdef allot", "fish": "complete -c allot"} {
		code, out, errs := allot(nil, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q", shell, code, errs, marker)
		}
	}
}

// Issue 14's acceptance: `allot leave --help` prints help and the agent
// keeps running (it used to make the agent leave and exit).
func TestLeaveHelpKeepsTheAgent(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	addr := n.HTTP.Listener.Addr().String()
	for _, args := range [][]string{{"leave", "--help"}, {"leave", "-h"}, {"help", "leave"}, {"join", "--help"}, {"health", "--help"}} {
		code, out, errs := runCLI(addr, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || errs != "" {
			t.Fatalf("allot %v: exit %d %q %q", args, code, out, errs)
		}
	}
	if code, out, errs := runCLI(addr, nil, "health"); code != 0 || out != "ok\n" || !n.Server.IsLeader() {
		t.Fatalf("after leave --help: health exit %d %q %q", code, out, errs)
	}
}

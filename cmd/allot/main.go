// Command allot is Allot's single binary: the agent and every CLI command.
package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// exit codes
const (
	exitOK    = 0
	exitErr   = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// globals are the flags every CLI command accepts, anywhere on the line
// (persistent flags of the root command).
type globals struct {
	httpAddr string
	token    string
	caFile   string
	// Mutual TLS: a client certificate and key for agents that require one,
	// and the name to verify the agent's certificate under (tls.go).
	clientCert    string
	clientKey     string
	tlsServerName string
	json          bool
}

// env is one run of the CLI: its flags, output and environment. Nothing
// of it is global, so tests run the CLI in-process side by side.
type env struct {
	g         globals
	tlsConfig *tls.Config // nil: plain HTTP (see loadTLS)
	tlsLoaded bool
	stdout    io.Writer
	stderr    io.Writer
	getenv    func(string) string
}

// run executes one command line and returns its exit code: 0 ok, 1 the
// command failed, 2 usage (a bad flag, argument or unknown command). Usage
// errors are one line with a hint; help (-h, --help, help CMD) never runs
// anything.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	return e.exitCode(cmd, err)
}

// usageError is a mistake on the command line: exit 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// failure is a command that ran and failed: exit 1.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// exitStatus is the code a delegated Main (sim, bench, …) returned; it has
// printed its own messages.
type exitStatus int

func (x exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(x)) }

// exitCode prints err the one way it is printed and maps it to a code.
func (e *env) exitCode(cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	var f *failure
	if errors.As(err, &f) {
		fmt.Fprintln(e.stderr, "Error:", oneLine(f.err.Error()))
		return exitErr
	}
	// Usage: ours, or cobra's (unknown command, unknown flag, bad value).
	path := "allot"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	fmt.Fprintf(e.stderr, "%s: %s (run '%s --help')\n", path, oneLine(err.Error()), path)
	return exitUsage
}

// oneLine folds a message onto one line (cobra's suggestions come on
// lines of their own).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// fail marks err as a failure of a command that ran (exit 1). Errors the
// RunE functions return unmarked are usage errors.
func fail(err error) error {
	if err == nil {
		return nil
	}
	var u *usageError
	if errors.As(err, &u) {
		return err
	}
	return &failure{err: err}
}

// helpArg reports whether args ask for help before any "--".
func helpArg(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help", "-help", "--h":
			return true
		}
	}
	return false
}

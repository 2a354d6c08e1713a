package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestLoadgenCommand(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		code int
		out  string // in stdout (code 0) or the one stderr line
	}{
		{[]string{"loadgen", "--cpu", "lots"}, exitUsage, "cpu"},
		{[]string{"loadgen", "--net", "1Mbit"}, exitUsage, "--to"},
		{[]string{"loadgen"}, exitUsage, "nothing to do"},
		{[]string{"loadgen", "--help"}, exitOK, "allot loadgen [flags]"},
		{[]string{"loadgen", "--trace", "/nonexistent.csv", "--column", "a", "--duration", "1s"}, exitErr, "nonexistent"},
		{[]string{"loadgen", "--cpu", "0.1", "--step", "30ms", "--duration", "60ms"}, exitOK, `"asked":{"cpu":0.1}`},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb, getenv)
		text := out.String()
		if code != exitOK {
			text = errb.String()
			if strings.Count(text, "\n") != 1 {
				t.Errorf("%q: stderr %q is not one line", c.args, text)
			}
		}
		if code != c.code || !strings.Contains(text, c.out) {
			t.Errorf("%q: exit %d %q, want %d with %q", c.args, code, text, c.code, c.out)
		}
	}
}

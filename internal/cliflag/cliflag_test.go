package cliflag

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args    []string
		err     string // "" none, "help" flag.ErrHelp
		wantOut string
	}{
		{[]string{"--n", "3"}, "", ""},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus", ""},
		{[]string{"-h"}, "help", "number of things"},
	} {
		var out bytes.Buffer
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(&out)
		fs.Int("n", 1, "number of things")
		err := Parse(fs, c.args, &out)
		switch {
		case c.err == "" && err != nil, c.err == "help" && !errors.Is(err, flag.ErrHelp),
			c.err != "" && c.err != "help" && (err == nil || err.Error() != c.err):
			t.Errorf("%v: err %v, want %q", c.args, err, c.err)
		}
		if !strings.Contains(out.String(), c.wantOut) || (c.wantOut == "" && out.Len() != 0) {
			t.Errorf("%v: printed %q, want %q", c.args, out.String(), c.wantOut)
		}
	}
}

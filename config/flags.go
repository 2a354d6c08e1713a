package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// textFlag records the text a flag was given (every time, for a repeatable
// one); Load applies it through the setting, after files and environment.
type textFlag struct {
	s    *Setting
	vals []string
}

func (f *textFlag) String() string {
	if f == nil || len(f.vals) == 0 {
		return ""
	}
	return f.vals[len(f.vals)-1]
}

func (f *textFlag) Set(v string) error { f.vals = append(f.vals, v); return nil }

// IsBoolFlag lets a boolean flag stand alone (--server).
func (f *textFlag) IsBoolFlag() bool { return f.s.kind == kBool || f.s.kind == kNotBool }

// flagUsage is a flag's help line: the setting's meaning, then its type
// (backquoted: the flag package also shows it as the value's name), key
// and env.
func flagUsage(s *Setting) string {
	var also []string
	if s.kind != kBool && s.kind != kNotBool && s.Type != "" {
		also = append(also, "`"+s.Type+"`")
	}
	if s.Key != "" {
		also = append(also, "key "+s.Key)
	}
	if s.Env != "" {
		also = append(also, "env "+s.Env)
	}
	if len(also) == 0 {
		return s.Doc
	}
	return s.Doc + " (" + joinComma(also) + ")"
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// parseFlags defines every flag of the table and parses args. It returns
// the flags given, in table order. -h prints the flags to stderr and
// returns an *Error wrapping flag.ErrHelp; any other usage error is one
// line and a hint, not the whole usage text.
func parseFlags(args []string, stderr io.Writer) ([]*textFlag, error) {
	fs := flag.NewFlagSet("allot agent", flag.ContinueOnError)
	var all []*textFlag
	for i := range Settings {
		s := &Settings[i]
		if s.Flag == "" {
			continue
		}
		f := &textFlag{s: s}
		fs.Var(f, s.Flag, flagUsage(s))
		def := s.Default
		if s.docDefault != "" {
			def = s.docDefault
		}
		if s.kind == kBool && def == "false" {
			def = ""
		}
		fs.Lookup(s.Flag).DefValue = def
		all = append(all, f)
	}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage: allot agent [flags]")
			fs.PrintDefaults()
			return nil, &Error{Msg: err.Error(), err: flag.ErrHelp}
		}
		return nil, errf("%v (allot agent -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return nil, errf("agent: unexpected argument %q", fs.Arg(0))
	}
	var given []*textFlag
	for _, f := range all {
		if len(f.vals) > 0 {
			given = append(given, f)
		}
	}
	return given, nil
}

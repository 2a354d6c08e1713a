// Package cliflag parses a standard-library flag set the way every allot
// command reports mistakes: a bad flag is only the returned error (the
// caller prints one line with a hint, not the whole flag list), and -h
// prints the usage to out and returns flag.ErrHelp.
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Parse parses args into fs quietly; see the package comment.
func Parse(fs *flag.FlagSet, args []string, out io.Writer) error {
	usage := fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
	}
	return err
}

// Exit is the exit code of a command whose flags (or their checks) failed
// with err: 0 after -h (the usage is printed), otherwise 2 with one line
// "name: err" on stderr.
func Exit(name string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 2
}

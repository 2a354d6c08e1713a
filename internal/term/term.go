// Package term answers one question: is this writer a terminal? Progress
// bars are drawn only when it is (never into a log file or a pipe).
package term

import (
	"io"
	"os"
)

// IsTerminal reports whether w is a file on a character device (a
// terminal; /dev/null too, where a bar is harmless).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

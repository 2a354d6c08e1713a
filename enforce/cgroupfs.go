package enforce

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// writeValue writes one value to a cgroup control file with a single
// write, as `echo v > file` does (O_CREATE|O_TRUNC are what the shell uses:
// harmless on cgroupfs, and they let a plain directory stand in for it in
// tests). The error names the file and the value.
func writeValue(file, value string) error { return write(file, value, os.O_CREATE) }

// writeExisting is writeValue for a file that must exist (a procfs file:
// creating one is never meant).
func writeExisting(file, value string) error { return write(file, value, 0) }

func write(file, value string, create int) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC|create, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s to write %q: %w", file, value, bare(err))
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, file, bare(err))
	}
	return nil
}

// bare drops the *os.PathError around a kernel error: the caller names the file.
func bare(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readInt reads a file holding one integer (memory.current, …). A missing
// file reads as 0: it only is missing when the controller is off, and the
// write that follows then fails with the real reason.
func readInt(file string) (int64, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", file, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %q is not a number", file, strings.TrimSpace(string(b)))
	}
	return n, nil
}

// mkdir creates a cgroup directory and any missing parents (0755).
func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating cgroup %s: %w", dir, err)
	}
	return nil
}

package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// mount is one line of /proc/<pid>/mountinfo (proc(5)).
type mount struct {
	Root   string   // the directory of the filesystem mounted here
	Point  string   // the mount point
	Opts   []string // per-mount options: rw or ro, …
	FSType string   // cgroup, cgroup2, tmpfs, …
	Super  []string // superblock options: a v1 cgroup's controllers are among them
}

func (m mount) readOnly() bool { return slices.Contains(m.Opts, "ro") }

// parseMountinfo reads mountinfo lines:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// (ID, parent ID, device, root, mount point, options, optional fields up to
// "-", then filesystem type, source and superblock options). Paths have
// space, tab, newline and backslash escaped in octal (\040).
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep < 6 || len(f) < sep+3 {
			return nil, fmt.Errorf("mountinfo line %d: %q is not ID PARENT MAJ:MIN ROOT POINT OPTIONS ... - TYPE SOURCE [SUPER]", n, line)
		}
		m := mount{Root: unescapeOctal(f[3]), Point: unescapeOctal(f[4]), Opts: strings.Split(f[5], ","), FSType: f[sep+1]}
		if len(f) > sep+3 {
			m.Super = strings.Split(f[sep+3], ",")
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return out, nil
}

// unescapeOctal undoes the kernel's \NNN escapes; anything else is kept as is.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

package enforce

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Layout is what cgroup hierarchies a host offers, read once at start.
type Layout struct {
	// V2 is a unified (cgroup2) mount where cpu and memory are available;
	// "" when there is none. NoV2 then says why.
	V2   string
	NoV2 string
	// V1 are the v1 mounts of cpu, memory and blkio ("" for those absent).
	V1 V1Mounts
	// V1CPUAcct is the v1 mount of cpuacct ("" when absent): usually the
	// same as V1.CPU ("cpu,cpuacct"). Only usage readers need it.
	V1CPUAcct string
}

// V1OK reports whether the v1 driver can work: cpu and memory are mounted.
func (l Layout) V1OK() bool { return l.V1.CPU != "" && l.V1.Memory != "" }

// NoV1 says why the v1 driver cannot work ("" when it can).
func (l Layout) NoV1() string {
	var miss []string
	if l.V1.CPU == "" {
		miss = append(miss, "cpu")
	}
	if l.V1.Memory == "" {
		miss = append(miss, "memory")
	}
	if len(miss) == 0 {
		return ""
	}
	return "no v1 hierarchy for " + strings.Join(miss, " and ") + " is mounted"
}

// DetectFile reads a mountinfo file (normally /proc/self/mountinfo) and
// returns the host's cgroup layout.
func DetectFile(mountinfo string) (Layout, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return Layout{}, fmt.Errorf("detecting cgroups: %w", err)
	}
	defer f.Close()
	ms, err := parseMountinfo(f)
	if err != nil {
		return Layout{}, fmt.Errorf("detecting cgroups from %s: %w", mountinfo, err)
	}
	return detect(ms), nil
}

// detect finds a usable unified hierarchy (the first cgroup2 mount whose
// cgroup.controllers offers cpu and memory: on a hybrid host the unified
// mount usually offers neither) and the v1 mounts of cpu, memory and blkio
// (the first of each).
func detect(ms []mount) Layout {
	var l Layout
	var seen []string
	for _, m := range ms {
		switch m.FSType {
		case "cgroup2":
			if l.V2 != "" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(m.Point, "cgroup.controllers"))
			if err != nil {
				seen = append(seen, fmt.Sprintf("%s (unreadable: %v)", m.Point, err))
				continue
			}
			ctrls := strings.Fields(string(b))
			if slices.Contains(ctrls, "cpu") && slices.Contains(ctrls, "memory") {
				l.V2 = m.Point
			} else {
				seen = append(seen, fmt.Sprintf("%s offers %q", m.Point, ctrls))
			}
		case "cgroup":
			for _, c := range []struct {
				name string
				dst  *string
			}{{"cpu", &l.V1.CPU}, {"memory", &l.V1.Memory}, {"blkio", &l.V1.Blkio}, {"cpuacct", &l.V1CPUAcct}} {
				if *c.dst == "" && slices.Contains(m.Super, c.name) {
					*c.dst = m.Point
				}
			}
		}
	}
	if l.V2 == "" {
		if len(seen) == 0 {
			l.NoV2 = "no cgroup2 filesystem is mounted"
		} else {
			l.NoV2 = "no cgroup2 mount offers both cpu and memory: " + strings.Join(seen, "; ")
		}
	}
	return l
}

// Package cgroups knows how a host lays out its cgroup hierarchies: which
// cgroup2 and v1 mounts exist (from mountinfo), which of them a mode picks,
// and where a service's cgroup is relative to every hierarchy root. It is a
// leaf: enforcing (package enforce) and measuring (package usage) both use
// it, so both agree on the same files, and neither depends on the other.
package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// V1Mounts are the mount points of the v1 hierarchies Allot uses (normally
// /sys/fs/cgroup/cpu, …/cpuacct, …/memory, …/blkio); "" for those absent.
// CPU and CPUAcct are the same directory when the host co-mounts them
// ("cpu,cpuacct"), and differ when they are separate hierarchies.
type V1Mounts struct{ CPU, CPUAcct, Memory, Blkio string }

// CPUAcctSeparate reports whether cpuacct is mounted as a hierarchy of its
// own (not co-mounted with cpu): a cgroup made in the cpu hierarchy then
// does not exist in cpuacct until someone creates it there too.
func (m V1Mounts) CPUAcctSeparate() bool { return m.CPUAcct != "" && m.CPUAcct != m.CPU }

// Layout is what cgroup hierarchies a host offers, read once at start.
type Layout struct {
	// V2 is a unified (cgroup2) mount where cpu and memory are available;
	// "" when there is none. NoV2 then says why.
	V2   string
	NoV2 string
	// V1 are the v1 mounts of cpu, cpuacct, memory and blkio.
	V1 V1Mounts
}

// V1OK reports whether v1 can be used: cpu and memory are mounted.
func (l Layout) V1OK() bool { return l.V1.CPU != "" && l.V1.Memory != "" }

// NoV1 says why v1 cannot be used ("" when it can).
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
// mount usually offers neither) and the v1 mounts of cpu, cpuacct, memory
// and blkio (the first of each).
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
			}{{"cpu", &l.V1.CPU}, {"cpuacct", &l.V1.CPUAcct}, {"memory", &l.V1.Memory}, {"blkio", &l.V1.Blkio}} {
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

// Hierarchy is the cgroup version Choose picked and where it is mounted:
// V2 is the unified root when Version is 2, V1 the v1 mounts when it is 1.
type Hierarchy struct {
	Version int
	V2      string
	V1      V1Mounts
}

// Choose applies the one rule for picking a hierarchy (client.enforce):
//
//   - "cgroup-v2": the unified hierarchy, or an error saying why it is not usable;
//   - "cgroup-v1": the v1 mounts, or an error naming what is missing;
//   - "auto", "none" and "": the unified hierarchy when it offers cpu and
//     memory, else v1 when cpu and memory are mounted, else an error. ("none"
//     enforces nothing, but what runs can still be measured.)
//
// Any other mode is an error.
func Choose(mode string, l Layout) (Hierarchy, error) {
	switch mode {
	case "cgroup-v2":
		if l.V2 == "" {
			return Hierarchy{}, fmt.Errorf("cgroup v2 is not usable: %s", l.NoV2)
		}
		return Hierarchy{Version: 2, V2: l.V2}, nil
	case "cgroup-v1":
		if !l.V1OK() {
			return Hierarchy{}, fmt.Errorf("cgroup v1 is not usable: %s", l.NoV1())
		}
		return Hierarchy{Version: 1, V1: l.V1}, nil
	case "auto", "none", "":
		switch {
		case l.V2 != "":
			return Hierarchy{Version: 2, V2: l.V2}, nil
		case l.V1OK():
			return Hierarchy{Version: 1, V1: l.V1}, nil
		}
		return Hierarchy{}, fmt.Errorf("no usable cgroup hierarchy: %s; %s", l.NoV2, l.NoV1())
	}
	return Hierarchy{}, fmt.Errorf("cgroup mode %q: want auto, cgroup-v1, cgroup-v2 or none", mode)
}

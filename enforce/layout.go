package enforce

import "github.com/allot-dev/allot/cgroups"

// The cgroup layout lives in package cgroups, shared with the usage
// readers; these names keep enforce's API as its callers know it.

// Layout is what cgroup hierarchies a host offers (cgroups.Layout).
type Layout = cgroups.Layout

// V1Mounts are the v1 mount points the v1 driver writes (cgroups.V1Mounts).
// The driver writes cpu, memory and blkio; it creates (and keeps) each
// service's cgroup in cpuacct too when cpuacct is a separate hierarchy, so
// that the cgroup usage reads exists.
type V1Mounts = cgroups.V1Mounts

// DetectFile reads a mountinfo file and returns the host's cgroup layout
// (cgroups.DetectFile).
func DetectFile(mountinfo string) (Layout, error) { return cgroups.DetectFile(mountinfo) }

// CgroupRel is a service's cgroup relative to every hierarchy root
// (cgroups.CgroupRel).
func CgroupRel(parent, service, cgroup string) (string, error) {
	return cgroups.CgroupRel(parent, service, cgroup)
}

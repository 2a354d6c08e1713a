package cgroups

import (
	"fmt"
	"path"
	"strings"
)

// Target is where a service lives on this node: its cgroup (a path under
// client.cgroup_parent; empty means the service's name) and the interface
// whose egress carries its traffic (empty: not shaped, and net not measured).
type Target struct {
	Cgroup    string `json:"cgroup,omitempty"`
	Interface string `json:"interface,omitempty"`
}

// CgroupRel is a service's cgroup relative to every hierarchy root: parent
// (client.cgroup_parent) joined with cgroup, which defaults to the service's
// name ("/allot", "web", "" → "allot/web"). ".." anywhere is refused (a
// service definition must not reach outside the parent), and so is a cgroup
// that names the parent itself.
func CgroupRel(parent, service, cgroup string) (string, error) {
	if cgroup == "" {
		cgroup = service
	}
	p, err := CleanRel("client.cgroup_parent", parent)
	if err != nil {
		return "", err
	}
	if err := noDotDot("cgroup of service "+service, cgroup); err != nil {
		return "", err
	}
	rel := strings.TrimPrefix(path.Clean("/"+parent+"/"+cgroup), "/")
	if rel == p {
		return "", fmt.Errorf("cgroup of service %s %q: names no directory under the parent", service, cgroup)
	}
	return rel, nil
}

// CleanRel cleans a cgroup path given relative to the hierarchy roots
// ("/allot/", "docker//abc") into the form joined to a root ("allot",
// "docker/abc"; "" for the root itself), refusing "..". what names the path
// in the error.
func CleanRel(what, p string) (string, error) {
	if err := noDotDot(what, p); err != nil {
		return "", err
	}
	return strings.TrimPrefix(path.Clean("/"+p), "/"), nil
}

func noDotDot(what, p string) error {
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("%s %q: \"..\" is not allowed", what, p)
		}
	}
	return nil
}

package docker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot/client/workload"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// instance is a discovered container with what Apply needs beyond
// workload.Instance: the limits the daemon holds for it now.
type instance struct {
	workload.Instance
	res container.Resources
}

type service struct {
	workload.Service
	inst []instance
}

// Discover implements workload.Runtime: one service per allot.service
// label value, one instance per running container carrying it, sorted by
// name. Containers with a bad label are logged once and left out;
// containers labelled allot.node for another node are skipped silently.
func (r *Runtime) Discover(ctx context.Context) ([]workload.Service, error) {
	svcs, err := r.discover(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]workload.Service, len(svcs))
	for i, s := range svcs {
		out[i] = s.Service
	}
	return out, nil
}

func (r *Runtime) discover(ctx context.Context) ([]service, error) {
	f := client.Filters{}
	f.Add("label", LabelService)
	f.Add("status", "running")
	list, err := r.eng.ContainerList(ctx, client.ContainerListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: listing containers labelled %s: %w", LabelService, err)
	}
	cs := list.Items
	slices.SortFunc(cs, func(a, b container.Summary) int { return strings.Compare(summaryName(a), summaryName(b)) })
	byName := map[string]*service{}
	var names []string
	for _, c := range cs {
		name := summaryName(c)
		if !forNode(c.Labels, r.node) {
			continue // another node's (several agents share this host): not ours, not worth a warning
		}
		def, iface, ok, err := parseLabels(c.Labels)
		if !ok {
			continue
		}
		if err != nil {
			if r.once("label|" + c.ID + "|" + err.Error()) {
				r.log.Warn("container left out: bad allot label", "container", name, "error", err)
			}
			continue
		}
		ins, err := r.inspect(ctx, c.ID, name, iface)
		if err != nil {
			if errors.Is(err, errVanished) {
				continue
			}
			if r.once("inspect|" + c.ID + "|" + err.Error()) {
				r.log.Warn("container left out", "container", name, "error", err)
			}
			continue
		}
		s := byName[def.Name]
		if s == nil {
			s = &service{Service: workload.Service{Def: def}}
			byName[def.Name] = s
			names = append(names, def.Name)
		} else if !sameDef(s.Def, def) && r.once("disagree|"+def.Name+"|"+c.ID) {
			r.log.Warn("replicas disagree on class, min or max; the first container by name defines the service",
				"service", def.Name, "container", name, "using", s.Instances[0].Name)
		}
		s.inst = append(s.inst, ins)
		s.Instances = append(s.Instances, ins.Instance)
	}
	slices.Sort(names)
	out := make([]service, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out, nil
}

func summaryName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return c.ID
}

// inspect fills in a container's pid, cgroup and host-side interface.
func (r *Runtime) inspect(ctx context.Context, id, name, iface string) (instance, error) {
	res, err := r.eng.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return instance{}, errVanished
		}
		return instance{}, fmt.Errorf("inspecting container %s: %w", name, err)
	}
	c := res.Container
	ins := instance{Instance: workload.Instance{ID: id, Name: name, Interface: iface}}
	if c.State != nil {
		ins.Pid = c.State.Pid
	}
	if c.HostConfig != nil {
		ins.res = c.HostConfig.Resources
	}
	if ins.Pid <= 0 {
		return ins, nil
	}
	cg, err := r.procCgroup(ins.Pid)
	if err != nil {
		return instance{}, fmt.Errorf("finding the cgroup of container %s: %w", name, err)
	}
	ins.Cgroup = cg
	if iface == "" && c.HostConfig != nil && !noOwnNetwork(string(c.HostConfig.NetworkMode)) {
		ins.Interface, err = r.veth(ins.Pid)
		if err != nil && r.once("veth|"+id) {
			r.log.Warn("container's network is not shaped or measured: its host-side interface was not found",
				"container", name, "error", err)
		}
	}
	return ins, nil
}

// noOwnNetwork reports network modes without a veth of their own.
func noOwnNetwork(mode string) bool {
	return mode == "host" || mode == "none" || strings.HasPrefix(mode, "container:")
}

// procCgroup reads /proc/<pid>/cgroup and returns the process's cgroup
// path relative to the hierarchy roots: the cpu controller's (v1), else
// memory's, else the unified "0::" one.
func (r *Runtime) procCgroup(pid int) (string, error) {
	f, err := os.Open(filepath.Join(r.procDir, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	return parseProcCgroup(bufio.NewScanner(f))
}

func parseProcCgroup(sc *bufio.Scanner) (string, error) {
	var mem, unified string
	found := false
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		rel := strings.TrimPrefix(parts[2], "/")
		if parts[0] == "0" && parts[1] == "" {
			unified, found = rel, true
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		if slices.Contains(ctrls, "cpu") {
			return rel, nil
		}
		if slices.Contains(ctrls, "memory") {
			mem, found = rel, true
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("no cpu, memory or unified cgroup line")
	}
	if mem != "" {
		return mem, nil
	}
	return unified, nil
}

// veth finds the host-side end of the container's eth0: the link whose
// index is eth0's peer index (iflink) as seen inside the container.
func (r *Runtime) veth(pid int) (string, error) {
	idx, err := r.peerIndex(pid)
	if err != nil {
		return "", err
	}
	l, err := r.nl.LinkByIndex(idx)
	if err != nil {
		return "", fmt.Errorf("looking up eth0's peer (index %d) on the host: %w", idx, err)
	}
	return l.Attrs().Name, nil
}

// hostPeerIndex enters nothing: it opens a netlink socket in the
// container's network namespace (/proc/<pid>/ns/net) and reads eth0's
// parent index, which for a veth is the peer's index in the host.
func (r *Runtime) hostPeerIndex(pid int) (int, error) {
	ns, err := netns.GetFromPath(filepath.Join(r.procDir, strconv.Itoa(pid), "ns", "net"))
	if err != nil {
		return 0, fmt.Errorf("opening the network namespace of pid %d: %w", pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return 0, fmt.Errorf("opening netlink in the network namespace of pid %d: %w", pid, err)
	}
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if err != nil {
		return 0, fmt.Errorf("looking up eth0 in the container: %w", err)
	}
	if l.Attrs().ParentIndex == 0 {
		return 0, fmt.Errorf("eth0 in the container has no peer (type %s)", l.Type())
	}
	return l.Attrs().ParentIndex, nil
}

// Package docker is the node runtime for Docker containers: it discovers
// running containers labelled allot.service=NAME through the Engine API,
// applies each service's allocation to its containers with ContainerUpdate
// (cpu, memory), the containers' blkio cgroup files (io) and tc on their
// host-side veths (net), and follows the Engine's events so the client
// re-discovers when containers come and go.
package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/enforce"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/client"
	"github.com/vishvananda/netlink"
)

// DefaultSocket is where the Docker daemon listens unless told otherwise.
const DefaultSocket = "/var/run/docker.sock"

// Engine is the part of the Docker Engine API this runtime calls;
// *client.Client (github.com/moby/moby/client) has it, tests fake it.
type Engine interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerUpdate(ctx context.Context, id string, options client.ContainerUpdateOptions) (client.ContainerUpdateResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// Netlink is what the runtime needs of a netlink socket in the host's
// network namespace: tc (enforce.Netlink) and finding a veth by index.
// *netlink.Handle has it.
type Netlink interface {
	enforce.Netlink
	LinkByIndex(index int) (netlink.Link, error)
}

// Options configure New.
type Options struct {
	// Socket is the daemon's unix socket path ("" = DefaultSocket).
	Socket string
	// Node is the client's node name: a container labelled allot.node=X is
	// managed only by the runtime whose Node is X ("" manages only
	// containers without the label).
	Node string
	// Log is the parent logger; the runtime logs as "docker" under it.
	Log hclog.Logger
	// Devices are the block devices io is limited on (client.io_devices);
	// none: io is not enforced.
	Devices []enforce.Device
	// Netlink is a netlink socket in the host namespace, for tc and for
	// finding veths (nil: New opens one, and Close closes it).
	Netlink Netlink
	// Layout is the host's cgroup layout (nil: detected from
	// /proc/self/mountinfo), for reading memory usage and writing blkio.
	Layout *enforce.Layout
	// Borrow: a container's memory allocation is its reservation and the
	// node's memory its limit (client.memory_borrow; zero: hard limits).
	Borrow enforce.Borrow
	// Engine replaces the SDK client on Socket (tests).
	Engine Engine
	// PingTimeout bounds the start-up ping (0: 5 s).
	PingTimeout time.Duration
}

// Runtime is the Docker runtime. It implements workload.Runtime and
// workload.Watcher; Run must be running for Changes to be signalled.
type Runtime struct {
	eng     Engine
	socket  string
	node    string
	log     hclog.Logger
	devices []enforce.Device
	nl      Netlink
	layout  enforce.Layout
	borrow  enforce.Borrow
	closers []func()

	// Where /proc and /sys are (tests point them at a temp dir), and how
	// the host-side peer of a container's eth0 is found (tests fake it).
	procDir   string
	sysDir    string
	peerIndex func(pid int) (int, error)

	changes chan struct{}

	mu      sync.Mutex
	applied map[string]applied // container ID → last applied limits
	logged  map[string]bool    // once-only warnings already given
}

var (
	_ workload.Runtime = (*Runtime)(nil)
	_ workload.Watcher = (*Runtime)(nil)
)

// New connects to the Docker daemon on opts.Socket, negotiates the API
// version and pings it. A missing socket or a daemon that does not answer
// is an error naming the socket: the agent stops at start when --docker
// was asked for and there is no Docker.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.Socket == "" {
		opts.Socket = DefaultSocket
	}
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 5 * time.Second
	}
	host := "unix://" + opts.Socket
	unreachable := func(err error) error {
		return fmt.Errorf("docker: cannot reach the Docker daemon at %s: %w", host, err)
	}
	r := &Runtime{
		eng:       opts.Engine,
		socket:    opts.Socket,
		node:      opts.Node,
		log:       opts.Log.Named("docker"),
		devices:   opts.Devices,
		nl:        opts.Netlink,
		borrow:    opts.Borrow,
		procDir:   "/proc",
		sysDir:    "/sys",
		changes:   make(chan struct{}, 1),
		applied:   map[string]applied{},
		logged:    map[string]bool{},
		peerIndex: nil,
	}
	r.peerIndex = r.hostPeerIndex
	if r.eng == nil {
		if _, err := os.Stat(opts.Socket); err != nil {
			return nil, unreachable(err)
		}
		// The SDK negotiates the API version on the first request (the
		// ping below): Docker 20.10 speaks 1.41, this SDK up to 1.57.
		c, err := client.New(client.WithHost(host))
		if err != nil {
			return nil, unreachable(err)
		}
		r.eng = c
		r.closers = append(r.closers, func() { _ = c.Close() })
	}
	pctx, cancel := context.WithTimeout(ctx, opts.PingTimeout)
	defer cancel()
	if _, err := r.eng.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		r.Close()
		return nil, unreachable(err)
	}
	if opts.Layout != nil {
		r.layout = *opts.Layout
	} else {
		l, err := enforce.DetectFile("/proc/self/mountinfo")
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("docker: %w", err)
		}
		r.layout = l
	}
	if r.nl == nil {
		nl, closeNL, err := openNetlink()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("docker: opening a netlink socket for tc: %w", err)
		}
		r.nl = nl
		r.closers = append(r.closers, closeNL)
	}
	return r, nil
}

// Close releases what New opened (the SDK client, the netlink socket).
func (r *Runtime) Close() {
	for _, c := range r.closers {
		c()
	}
	r.closers = nil
}

// Name implements workload.Runtime.
func (r *Runtime) Name() string { return "docker" }

// Changes implements workload.Watcher: signalled (coalesced) when a
// managed container starts, stops, dies, is removed or updated, and after
// the events stream reconnects; closed when Run returns.
func (r *Runtime) Changes() <-chan struct{} { return r.changes }

func (r *Runtime) signal() {
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// once reports whether key is new, remembering it (for once-only warnings).
func (r *Runtime) once(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logged[key] {
		return false
	}
	r.logged[key] = true
	return true
}

var errVanished = errors.New("the container no longer exists")

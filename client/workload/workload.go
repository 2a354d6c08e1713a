// Package workload holds what a node-side runtime (cgroup services, Docker
// containers, the dev demo's trace replay) tells the client about the
// services it runs: their definitions and their instances. It is a leaf:
// runtimes and the client both import it, it imports only bidding.
package workload

import (
	"context"

	"github.com/allot-dev/allot/bidding"
)

// Instance is one running unit of a service on this node: a container, or
// a service's cgroup.
type Instance struct {
	ID   string // container ID, or the service's cgroup path
	Name string // what people call it (a container's name); may equal ID
	// Cgroup is the instance's cgroup path relative to every hierarchy's
	// root ("docker/<id>", "allot/web"); "" when it has none to measure.
	Cgroup string
	// Interface is the host-side interface that carries its egress (a
	// container's veth on the host); "" when it is not shaped or measured.
	Interface string
	Pid       int // its main process (0: unknown)
}

// Service is a service a runtime found on this node, with its definition
// (name, class, min, max, sla: what the client registers) and instances.
// Several instances are replicas: the node's allocation is split among them.
type Service struct {
	Def       bidding.Service
	Instances []Instance
}

// Runtime finds services on this node and applies their allocations. Usage
// is read by the client from each instance's Cgroup and Interface (package
// usage), so both kernel runtimes measure the same way.
type Runtime interface {
	// Name is the runtime's name in logs ("cgroup", "docker", "demo").
	Name() string
	// Discover lists the services this runtime manages on this node now,
	// sorted by name. A bad definition (a label with a bad quantity) is
	// logged by the runtime and left out; it is not an error.
	Discover(ctx context.Context) ([]Service, error)
	// Apply enforces the node's allocations (sorted by service) for the
	// services this runtime manages; others are ignored. One failing
	// instance does not stop the others; errors come back joined, each
	// naming the service and instance.
	Apply(ctx context.Context, allocs []bidding.Allocation) error
}

// Watcher is a Runtime that can tell when what Discover returns may have
// changed (a container started or stopped), so the client re-discovers
// within the epoch rather than at the next plan.
type Watcher interface {
	// Changes is signalled (non-blocking, coalesced) on every change; it
	// is closed when ctx of the runtime ends.
	Changes() <-chan struct{}
}

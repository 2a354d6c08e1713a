package docker

import (
	"fmt"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
)

// The labels a container carries to be managed.
const (
	LabelService   = "allot.service"
	LabelClass     = "allot.class"
	LabelInterface = "allot.interface"
	LabelMinCPU    = "allot.min.cpu"
	LabelMinMemory = "allot.min.memory"
	LabelMaxCPU    = "allot.max.cpu"
	LabelMaxMemory = "allot.max.memory"
	// LabelNode pins a container to the runtime whose Options.Node is its
	// value; without it, every runtime on the host manages the container.
	LabelNode = "allot.node"
)

// LabelError is a label a container carries that cannot be used; the
// container is then left out.
type LabelError struct {
	Label string
	Value string
	Err   error
}

func (e *LabelError) Error() string {
	return fmt.Sprintf("label %s=%q: %v", e.Label, e.Value, e.Err)
}

func (e *LabelError) Unwrap() error { return e.Err }

// parseLabels reads a container's allot.* labels into the definition of
// its service (validated as the registry would) and the interface
// override ("" when absent). ok is false when the container carries no
// allot.service label at all.
func parseLabels(labels map[string]string) (def bidding.Service, iface string, ok bool, err error) {
	name, ok := labels[LabelService]
	if !ok {
		return bidding.Service{}, "", false, nil
	}
	def = bidding.Service{Name: name, Class: bidding.ClassStandard}
	if err := bidding.ValidateName(LabelService, name); err != nil {
		return bidding.Service{}, "", true, &LabelError{Label: LabelService, Value: name, Err: err}
	}
	if c, has := labels[LabelClass]; has {
		if _, err := bidding.ClassWeight(bidding.Class(c)); err != nil || c == "" {
			if err == nil {
				err = fmt.Errorf("empty class (allowed: critical, standard, batch)")
			}
			return bidding.Service{}, "", true, &LabelError{Label: LabelClass, Value: c, Err: err}
		}
		def.Class = bidding.Class(c)
	}
	for _, q := range []struct {
		label string
		r     bidding.Resource
		dst   *bidding.Vec
	}{
		{LabelMinCPU, bidding.CPU, &def.Min},
		{LabelMinMemory, bidding.Memory, &def.Min},
		{LabelMaxCPU, bidding.CPU, &def.Max},
		{LabelMaxMemory, bidding.Memory, &def.Max},
	} {
		v, has := labels[q.label]
		if !has {
			continue
		}
		n, err := config.ParseQuantity(q.r, v)
		if err != nil {
			return bidding.Service{}, "", true, &LabelError{Label: q.label, Value: v, Err: err}
		}
		q.dst[q.r] = n
	}
	if v, has := labels[LabelInterface]; has {
		if v == "" || len(v) > 15 || v == "." || v == ".." || strings.ContainsAny(v, "/: \t\n") {
			return bidding.Service{}, "", true, &LabelError{Label: LabelInterface, Value: v,
				Err: fmt.Errorf("not a network interface name (1-15 characters, no '/', ':' or spaces)")}
		}
		iface = v
	}
	if err := def.Validate(); err != nil {
		return bidding.Service{}, "", true, &LabelError{Label: "allot.*", Value: name, Err: err}
	}
	return def, iface, true, nil
}

// forNode reports whether a container with these labels is node's to
// manage: it carries no allot.node label, or that label names node.
func forNode(labels map[string]string, node string) bool {
	v, has := labels[LabelNode]
	return !has || v == node
}

// sameDef reports whether two replicas define their service alike.
func sameDef(a, b bidding.Service) bool {
	return a.Class == b.Class && a.Min == b.Min && a.Max == b.Max
}

package enforce

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-hclog"
	"github.com/vishvananda/netlink"
)

// Netlink is what the tc driver needs of a netlink socket; *netlink.Handle
// has it (one opened in another network namespace is how tests use it).
type Netlink interface {
	LinkByName(name string) (netlink.Link, error)
	QdiscList(link netlink.Link) ([]netlink.Qdisc, error)
	QdiscReplace(q netlink.Qdisc) error
	QdiscDel(q netlink.Qdisc) error
	ClassReplace(c netlink.Class) error
}

const (
	// tcMajor is the handle major of the root qdisc Allot puts on an
	// interface ("a110:"), which is how it knows the qdisc is its own.
	tcMajor = 0xa110
	// MinRate is the lowest egress rate set (8 kbit/s): HTB needs a
	// positive rate, and a few kbit still carries ARP and keepalives.
	MinRate = 8000
)

// TC shapes the egress of each service's interface with an HTB root qdisc
// (handle a110:, every packet in class a110:1 whose rate and ceil are the
// allocated bits/s). The qdisc is put there once; the class is replaced on
// every apply, never added, so applying twice changes nothing.
// It never replaces a root qdisc someone else put there (only a kernel
// default, handle 0:, or its own), and an allocation of 0 removes its own
// qdisc, leaving the interface unshaped — as cpu 0 means no cpu limit.
type TC struct {
	nl       Netlink
	resolver Resolver
	log      hclog.Logger
	mu       sync.Mutex
}

// NewTC returns the tc driver using nl (nil resolver: nothing is shaped,
// since a service has no interface unless its definition names one).
func NewTC(nl Netlink, r Resolver, log hclog.Logger) *TC {
	if r == nil {
		r = Targets{}
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &TC{nl: nl, resolver: r, log: log.Named("tc")}
}

// Name implements Driver.
func (t *TC) Name() string { return "tc" }

// Apply implements Driver.
func (t *TC) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	placed, errs := place(ctx, t.resolver, allocs)
	return errors.Join(append(errs, t.applyPlaced(ctx, placed))...)
}

// applyPlaced shapes allocations already resolved to their targets.
func (t *TC) applyPlaced(ctx context.Context, placed []placed) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	owner := map[string]string{}
	for _, p := range placed {
		iface := p.target.Interface
		if iface == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		err := checkInterface(iface)
		if o, dup := owner[iface]; err == nil && dup {
			err = fmt.Errorf("interface %s is already shaped for service %s; one interface per service", iface, o)
		}
		if err == nil {
			owner[iface] = p.Service
			err = t.shape(iface, p.Net)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", p.Service, err))
		}
	}
	return errors.Join(errs...)
}

func (t *TC) shape(iface string, bps int64) error {
	link, err := t.nl.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("looking up interface %s: %w", iface, err)
	}
	qs, err := t.nl.QdiscList(link)
	if err != nil {
		return fmt.Errorf("listing qdiscs of %s: %w", iface, err)
	}
	var root netlink.Qdisc
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_ROOT {
			root = q
		}
	}
	handle := netlink.MakeHandle(tcMajor, 0)
	mine := root != nil && root.Attrs().Handle == handle && root.Type() == "htb"
	if bps <= 0 {
		if !mine {
			return nil
		}
		if err := t.nl.QdiscDel(root); err != nil {
			return fmt.Errorf("removing the htb qdisc from %s: %w", iface, err)
		}
		return nil
	}
	if root != nil && !mine && root.Attrs().Handle != 0 {
		return fmt.Errorf("interface %s has a root qdisc %s %s that Allot did not create; not replacing it",
			iface, root.Type(), netlink.HandleStr(root.Attrs().Handle))
	}
	idx := link.Attrs().Index
	if !mine { // HTB has no "change": replacing its own root again is EINVAL
		q := netlink.NewHtb(netlink.QdiscAttrs{LinkIndex: idx, Handle: handle, Parent: netlink.HANDLE_ROOT})
		q.Defcls = 1
		if err := t.nl.QdiscReplace(q); err != nil {
			return fmt.Errorf("replacing the root qdisc of %s with htb %s: %w", iface, netlink.HandleStr(handle), err)
		}
	}
	rate := uint64(max(bps, MinRate))
	// An explicit quantum (bytes a class sends per round) in the range the
	// kernel accepts without complaint: rate/10 as r2q would give.
	quantum := uint32(min(max(rate/8/10, 1000), 200000))
	c := htbClass(netlink.ClassAttrs{LinkIndex: idx, Parent: handle, Handle: netlink.MakeHandle(tcMajor, 1)},
		netlink.HtbClassAttrs{Rate: rate, Ceil: rate, Quantum: quantum})
	if err := t.nl.ClassReplace(c); err != nil {
		return fmt.Errorf("setting htb class %s on %s to %d bit/s: %w", netlink.HandleStr(c.Handle), iface, rate, err)
	}
	return nil
}

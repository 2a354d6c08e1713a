package enforce

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/vishvananda/netlink"
)

// fakeNL keeps one root qdisc and one class per interface, and counts
// changes; it stands in for the kernel in the driver's policy tests (the
// kernel's own behaviour is checked by TestTCRealNamespace).
type fakeNL struct {
	links   map[string]int
	root    map[int]netlink.Qdisc
	class   map[int]*netlink.HtbClass
	changes int
}

func newFakeNL(names ...string) *fakeNL {
	f := &fakeNL{links: map[string]int{}, root: map[int]netlink.Qdisc{}, class: map[int]*netlink.HtbClass{}}
	for i, n := range names {
		f.links[n] = i + 2
		f.root[i+2] = &netlink.GenericQdisc{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: i + 2, Parent: netlink.HANDLE_ROOT}, QdiscType: "noqueue"}
	}
	return f
}

func (f *fakeNL) LinkByName(name string) (netlink.Link, error) {
	i, ok := f.links[name]
	if !ok {
		return nil, netlink.LinkNotFoundError{}
	}
	return &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name, Index: i}}, nil
}

func (f *fakeNL) QdiscList(l netlink.Link) ([]netlink.Qdisc, error) {
	if q := f.root[l.Attrs().Index]; q != nil {
		return []netlink.Qdisc{q}, nil
	}
	return nil, nil
}

func (f *fakeNL) QdiscReplace(q netlink.Qdisc) error {
	if old := f.root[q.Attrs().LinkIndex]; old != nil && old.Type() == "htb" && old.Attrs().Handle == q.Attrs().Handle {
		return syscall.EINVAL // as the kernel: HTB cannot be changed in place
	}
	f.changes++
	f.root[q.Attrs().LinkIndex] = q
	return nil
}

func (f *fakeNL) QdiscDel(q netlink.Qdisc) error {
	f.changes++
	delete(f.root, q.Attrs().LinkIndex)
	delete(f.class, q.Attrs().LinkIndex)
	return nil
}

func (f *fakeNL) ClassReplace(c netlink.Class) error {
	f.changes++
	f.class[c.Attrs().LinkIndex] = c.(*netlink.HtbClass)
	return nil
}

func netAlloc(svc string, bps int64) bidding.Allocation {
	return bidding.Allocation{Service: svc, Node: "n1", Net: bps}
}

// shaped reports the HTB rate (bits/s) the fake holds for iface, or why not.
func (f *fakeNL) shaped(iface string) string {
	i := f.links[iface]
	q, ok := f.root[i].(*netlink.Htb)
	c := f.class[i]
	if !ok || c == nil {
		if f.root[i] == nil {
			return "none"
		}
		return f.root[i].Type()
	}
	if q.Handle != netlink.MakeHandle(tcMajor, 0) || q.Defcls != 1 || c.Parent != q.Handle || c.Handle != netlink.MakeHandle(tcMajor, 1) {
		return fmt.Sprintf("htb %s defcls %d class %s", netlink.HandleStr(q.Handle), q.Defcls, netlink.HandleStr(c.Handle))
	}
	if c.Rate != c.Ceil {
		return fmt.Sprintf("rate %d ceil %d", c.Rate*8, c.Ceil*8)
	}
	return fmt.Sprint(c.Rate * 8)
}

func TestTCPolicy(t *testing.T) {
	foreign := &netlink.Tbf{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: 3, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}}
	cases := []struct {
		name     string
		targets  Targets
		allocs   []bidding.Allocation
		before   func(f *fakeNL)
		want     map[string]string // interface -> shaped()
		errParts []string
	}{{
		name:    "rate from the allocation",
		targets: Targets{"web": {Interface: "veth-web"}, "db": {}},
		allocs:  []bidding.Allocation{netAlloc("web", 500e6), netAlloc("db", 100e6)},
		want:    map[string]string{"veth-web": "500000000", "veth-db": "noqueue"},
	}, {
		name:    "tiny rates are raised to the floor",
		targets: Targets{"web": {Interface: "veth-web"}},
		allocs:  []bidding.Allocation{netAlloc("web", 10)},
		want:    map[string]string{"veth-web": "8000"},
	}, {
		name:    "zero removes Allot's own qdisc",
		targets: Targets{"web": {Interface: "veth-web"}},
		before: func(f *fakeNL) {
			_ = NewTC(f, Targets{"web": {Interface: "veth-web"}}, nil).Apply(context.Background(), []bidding.Allocation{netAlloc("web", 1e6)})
		},
		allocs: []bidding.Allocation{netAlloc("web", 0)},
		want:   map[string]string{"veth-web": "none"},
	}, {
		name:    "zero leaves a kernel default alone",
		targets: Targets{"web": {Interface: "veth-web"}},
		allocs:  []bidding.Allocation{netAlloc("web", 0)},
		want:    map[string]string{"veth-web": "noqueue"},
	}, {
		name:     "a root qdisc someone else made is not replaced",
		targets:  Targets{"web": {Interface: "veth-db"}},
		before:   func(f *fakeNL) { f.root[3] = foreign },
		allocs:   []bidding.Allocation{netAlloc("web", 1e6)},
		want:     map[string]string{"veth-db": "tbf"},
		errParts: []string{"service web", "veth-db", "tbf 1:", "did not create"},
	}, {
		name:     "unknown interface",
		targets:  Targets{"web": {Interface: "veth-gone"}, "db": {Interface: "veth-db"}},
		allocs:   []bidding.Allocation{netAlloc("db", 1e6), netAlloc("web", 1e6)},
		want:     map[string]string{"veth-db": "1000000"},
		errParts: []string{"service web", "looking up interface veth-gone"},
	}, {
		name:     "invalid interface name",
		targets:  Targets{"web": {Interface: "a/b"}},
		allocs:   []bidding.Allocation{netAlloc("web", 1e6)},
		errParts: []string{"service web", `interface "a/b" is not a valid`},
	}, {
		name:     "one interface per service",
		targets:  Targets{"web": {Interface: "veth-web"}, "api": {Interface: "veth-web"}},
		allocs:   []bidding.Allocation{netAlloc("api", 2e6), netAlloc("web", 1e6)},
		want:     map[string]string{"veth-web": "2000000"},
		errParts: []string{"service web", "already shaped for service api"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNL("veth-web", "veth-db")
			if tc.before != nil {
				tc.before(f)
			}
			err := NewTC(f, tc.targets, nil).Apply(context.Background(), tc.allocs)
			if len(tc.errParts) == 0 && err != nil {
				t.Fatal(err)
			}
			if len(tc.errParts) > 0 {
				errHas(t, err, tc.errParts...)
			}
			for iface, want := range tc.want {
				if got := f.shaped(iface); got != want {
					t.Errorf("%s: %s, want %s", iface, got, want)
				}
			}
		})
	}
}

// TestTCReapplyTouchesOnlyTheClass: the same rate again replaces the class
// (one change) and leaves the qdisc; a new rate does the same.
func TestTCReapplyTouchesOnlyTheClass(t *testing.T) {
	f := newFakeNL("veth-web")
	d := NewTC(f, Targets{"web": {Interface: "veth-web"}}, nil)
	for i, bps := range []int64{1e6, 1e6, 3e6} {
		f.changes = 0
		if err := d.Apply(context.Background(), []bidding.Allocation{netAlloc("web", bps)}); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
		want := 1
		if i == 0 {
			want = 2 // the qdisc, then the class
		}
		if f.changes != want || f.shaped("veth-web") != fmt.Sprint(bps) {
			t.Fatalf("apply %d: %d changes, shaped %s; want %d, %d", i, f.changes, f.shaped("veth-web"), want, bps)
		}
	}
}

//go:build linux

package enforce

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNetns creates an anonymous network namespace and returns a netlink
// handle inside it. The calling goroutine never changes namespace: a
// separate locked thread creates it and switches back (if it cannot, the
// thread is left locked so the runtime discards it). The namespace, and
// every link in it, is gone once the handle and its descriptor are closed.
func testNetns(t *testing.T) *netlink.Handle {
	t.Helper()
	type res struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- res{err: err}
			return
		}
		if err := netns.Set(orig); err != nil {
			ns.Close()
			ch <- res{err: fmt.Errorf("returning to the original namespace: %w", err)}
			return // still locked: the thread exits with the goroutine
		}
		runtime.UnlockOSThread()
		ch <- res{ns: ns}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("creating a network namespace: %v", r.err)
	}
	h, err := netlink.NewHandleAt(r.ns, syscall.NETLINK_ROUTE)
	if err != nil {
		r.ns.Close()
		t.Fatalf("netlink in the test namespace: %v", err)
	}
	t.Cleanup(func() { h.Close(); r.ns.Close() })
	return h
}

func TestTCRealNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: creating a network namespace and shaping needs root (CAP_NET_ADMIN)")
	}
	h := testNetns(t)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "alt-web"}, PeerName: "alt-db"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("adding a veth pair: %v", err)
	}
	t.Cleanup(func() {
		if err := h.LinkDel(veth); err != nil {
			t.Errorf("removing the veth pair: %v", err)
		}
	})
	links := map[string]netlink.Link{}
	for _, n := range []string{"alt-web", "alt-db"} {
		l, err := h.LinkByName(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
		links[n] = l
	}
	// rootOf describes the root qdisc and its classes as the kernel reports them.
	rootOf := func(name string) string {
		t.Helper()
		qs, err := h.QdiscList(links[name])
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, q := range qs {
			if q.Attrs().Parent != netlink.HANDLE_ROOT {
				continue
			}
			out += fmt.Sprintf("%s %s", q.Type(), netlink.HandleStr(q.Attrs().Handle))
			if htb, ok := q.(*netlink.Htb); ok {
				out += fmt.Sprintf(" default %d", htb.Defcls)
				cs, err := h.ClassList(links[name], q.Attrs().Handle)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					if hc, ok := c.(*netlink.HtbClass); ok {
						out += fmt.Sprintf(" | class %s rate %d ceil %d", netlink.HandleStr(hc.Handle), hc.Rate*8, hc.Ceil*8)
					}
				}
			}
		}
		return out
	}
	d := NewTC(h, Targets{"web": {Interface: "alt-web"}, "db": {Interface: "alt-db"}}, nil)
	ctx := context.Background()
	apply := func(bps int64) error { return d.Apply(ctx, []bidding.Allocation{netAlloc("web", bps)}) }
	before := rootOf("alt-web")
	t.Logf("alt-web before: %q", before)

	steps := []struct {
		bps  int64
		want string
	}{
		{10e6, "htb a110:0 default 1 | class a110:1 rate 10000000 ceil 10000000"},
		{10e6, "htb a110:0 default 1 | class a110:1 rate 10000000 ceil 10000000"}, // replace, not add
		{25e6, "htb a110:0 default 1 | class a110:1 rate 25000000 ceil 25000000"},
		{40e9, "htb a110:0 default 1 | class a110:1 rate 40000000000 ceil 40000000000"}, // above 2^32 bytes/s
		{1, "htb a110:0 default 1 | class a110:1 rate 8000 ceil 8000"},
		{0, before}, // unshaped again: the kernel's default is back
	}
	for _, s := range steps {
		if err := apply(s.bps); err != nil {
			t.Fatalf("applying %d bit/s: %v", s.bps, err)
		}
		if got := rootOf("alt-web"); got != s.want {
			t.Fatalf("after %d bit/s: %q, want %q", s.bps, got, s.want)
		}
	}

	// A root qdisc Allot did not create stays as it is.
	tbf := &netlink.Tbf{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: links["alt-db"].Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate: 125000, Limit: 10000, Buffer: netlink.Xmittime(125000, 3000)}
	if err := h.QdiscAdd(tbf); err != nil {
		t.Fatalf("adding a foreign tbf: %v", err)
	}
	err := d.Apply(ctx, []bidding.Allocation{netAlloc("db", 5e6)})
	errHas(t, err, "alt-db", "tbf 1:0", "did not create")
	if got := rootOf("alt-db"); got != "tbf 1:0" {
		t.Fatalf("the foreign qdisc became %q", got)
	}
	t.Logf("alt-web shaped and unshaped through %d steps; alt-db's tbf refused: %v", len(steps), err)
}

package kerneltest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsPair makes two network namespaces joined by a veth pair, each end
// addressed from TEST-NET-1 (192.0.2.0/24: traffic stays inside the test's
// own namespaces), and removes them at cleanup. The host's namespace is
// never touched: the pair is created from inside namespace a.
func netnsPair(t *testing.T) (a, b string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: iproute2 `ip` is not installed")
	}
	a, b = fmt.Sprintf("allot-kt-%d-a", os.Getpid()), fmt.Sprintf("allot-kt-%d-b", os.Getpid())
	for _, ns := range []string{a, b} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("skipped: cannot create a network namespace: %v: %s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("removing netns %s: %v: %s", ns, err, out)
			}
		})
	}
	run(t, "ip", "-n", a, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b", "netns", b)
	for _, s := range []struct{ ns, dev, addr string }{{a, "veth-a", "192.0.2.1/24"}, {b, "veth-b", "192.0.2.2/24"}} {
		run(t, "ip", "-n", s.ns, "addr", "add", s.addr, "dev", s.dev)
		run(t, "ip", "-n", s.ns, "link", "set", s.dev, "up")
		run(t, "ip", "-n", s.ns, "link", "set", "lo", "up")
	}
	return a, b
}

// TestNetShaping: loadgen in namespace a sends to a loadgen sink in b,
// asking 200 Mbit/s; the tc driver (netlink handle inside a) shapes
// veth-a's egress to 20, then 50 Mbit/s. The goodput the sink receives is
// within ±10% of 0.96 × the rate (HTB counts whole frames: 1448 bytes of
// TCP payload in a 1514-byte frame).
func TestNetShaping(t *testing.T) {
	needRoot(t, "network namespaces and tc")
	a, b := netnsPair(t)
	ns, err := netns.GetFromName(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns, syscall.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	d := enforce.NewTC(h, enforce.Targets{"web": {Interface: "veth-a"}}, nil)
	ctx := context.Background()
	if err := d.Apply(ctx, []bidding.Allocation{{Service: "web", Net: 20e6}}); err != nil {
		t.Fatal(err)
	}
	sink := start(t, nil, b, "--listen", "192.0.2.2:5201", "--step", "500ms", "--duration", "40s")
	time.Sleep(300 * time.Millisecond) // the sink listens; the sender redials anyway
	sender := start(t, nil, a, "--net", "200Mbit", "--to", "192.0.2.2:5201", "--step", "500ms", "--duration", "40s")

	for _, rate := range []float64{20e6, 50e6} {
		if err := d.Apply(ctx, []bidding.Allocation{{Service: "web", Net: int64(rate)}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // TCP finds the new rate; the socket buffer fills or drains
		from := time.Now()
		time.Sleep(4 * time.Second)
		to := time.Now()
		time.Sleep(600 * time.Millisecond)
		sink.alive(t)
		sender.alive(t)
		_, recv, n := sink.window(t, bidding.Net, from, to)
		asked, sent, _ := sender.window(t, bidding.Net, from, to)
		want := 0.96 * rate
		t.Logf("shaped to %.0f Mbit/s: sink received %.2f Mbit/s over %d steps (want %.1f ±10%%); sender asked %.0f Mbit/s, wrote %.2f Mbit/s",
			rate/1e6, recv/1e6, n, want/1e6, asked/1e6, sent/1e6)
		if !within(recv, want, 0.10) {
			t.Errorf("shaped to %.0f Mbit/s: goodput %.2f Mbit/s, want %.1f ±10%%", rate/1e6, recv/1e6, want/1e6)
		}
	}
}

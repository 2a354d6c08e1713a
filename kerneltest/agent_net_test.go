package kerneltest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/vishvananda/netlink"
)

// The net demand test's link: TEST-NET-2 (198.51.100.0/24), not the
// TEST-NET-1 of TestNetShaping, because its host end lives in the host's
// namespace, and hosts (this one among them) may use TEST-NET-1 for their
// own link.
const (
	netDemandNet  = "198.51.100.0/24"
	netDemandHost = "198.51.100.1/24"
	netDemandPeer = "198.51.100.2/24"
	netDemandSink = "198.51.100.2:5201"
)

// TestAgentNetDemandUnderLimit: the net counterpart of
// TestAgentIODemandUnderLimit. A service whose interface is the host end
// of a veth pair (the peer in a namespace the test made, where a loadgen
// sink listens) is held at its 10 Mbit/s net floor (tc HTB on that
// interface's egress) while loadgen in its cgroup sends to the sink asking
// 50 Mbit/s, on a node whose net capacity (client.capacity) is 200 Mbit/s.
// The client sees the service use its whole net limit (the interface's
// tx_bytes), lifts it into the node's unallocated net for a probe, and
// bids what it measured: counting from the first plan that grants the
// floor (or, if none did, from the first plan after loadgen started), a
// plan grants ≥ 40 Mbit/s within 4 epochs.
func TestAgentNetDemandUnderLimit(t *testing.T) {
	l := needAgent(t, "an agent enforcing cgroup v1 with tc")
	host, ns := hostVeth(t)
	const (
		mbit  = 1e6
		floor = 10 * mbit
		want  = 40 * mbit
	)
	sink := start(t, nil, ns, "--listen", netDemandSink, "--step", "500ms", "--duration", "5m")
	a := startAgentWith(t, l, "netdemand", agentOptions{client: "  capacity { net = \"200Mbit\" }\n"}, fmt.Sprintf(`service "netdemand" {
  class     = "standard"
  cgroup    = "netdemand"
  interface = %q
  min { net = "10Mbit" }
}`, host))
	// As in TestAgentIODemandUnderLimit: the idle service bids once its
	// cgroup exists, a plan grants it its floor, and loadgen starts under it.
	a.cgroup("netdemand")
	a.waitFloor("a plan granting netdemand its net floor", netGrants("netdemand"), floor)
	t.Logf("tc on %s under the floor: %s Mbit/s", host, tcRate(host)())
	lg := a.launch("netdemand", "--net", "50Mbit", "--to", netDemandSink, "--step", "500ms")
	startedAt := a.latest()
	launched := time.Now()
	rates := sample(t, tcRate(host))
	const bin = 250 * time.Millisecond
	carried := sample(t, counterRate("/sys/class/net/"+host+"/statistics/tx_bytes", 8e-6, bin))
	quotas := sample(t, cpuQuota(filepath.Join(l.V1.CPU, a.parent, "netdemand")))
	cpuUsed := sample(t, counterRate(filepath.Join(l.V1.CPUAcct, a.parent, "netdemand", "cpuacct.usage"), 1e-6, bin))

	a.waitAfterReference(lg, netGrants("netdemand"), floor, startedAt, 5, 24*agentEpoch)
	sink.alive(t)
	e0, reached := a.grantsSince("netdemand", netGrants("netdemand"), floor, startedAt,
		func(p seenPlan, v int64) string {
			return fmt.Sprintf("%.1fMbit(cpu %dm)", float64(v)/mbit, p.CPU["netdemand"])
		},
		func(v int64) bool { return v >= want })
	_ = lg.logSteps(t, "loadgen", bidding.Net, launched, floor, "Mbit/s", mbit) // the sender's own count (it once read above what it sent)
	if dips := sink.logSteps(t, "the sink", bidding.Net, launched, floor, "Mbit/s", mbit); dips > 0 {
		t.Errorf("the sink got near the floor in %d steps after the first probe let the sender through: the room lent until the next plan (client/lend.go) should have kept it there", dips)
	}
	t.Logf("tc rate of %s's class a110:1 while loadgen ran (time since launch: Mbit/s; lifted by probes, restored to the plan): %s", host, rates())
	t.Logf("%s's egress (tx_bytes, what the client reads) per 250 ms, Mbit/s, at the end of each: %s", host, carried())
	t.Logf("netdemand's cpu quota (lifted with net by each probe): %s", quotas())
	t.Logf("netdemand's cpu used per 250 ms, millicores, at the end of each: %s", cpuUsed())
	a.grantedWithin(e0, reached, 4, fmt.Sprintf("≥ %.0f Mbit/s", want/mbit))
	a.logDemandEvidence("netdemand", bidding.Net)
}

// hostVeth makes a network namespace (named with the test's pid) and a
// veth pair whose host end stays in the host's namespace, addressed
// netDemandHost, and whose peer is in the namespace, netDemandPeer; both
// are removed at cleanup. It skips without `ip`, without network
// namespaces, or when the host already routes netDemandNet.
func hostVeth(t *testing.T) (host, ns string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: iproute2 `ip` is not installed")
	}
	_, want, _ := net.ParseCIDR(netDemandNet)
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Skipf("skipped: cannot list the host's routes: %v", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		if ones, _ := r.Dst.Mask.Size(); ones == 0 {
			continue // a default route
		}
		if r.Dst.Contains(want.IP) || want.Contains(r.Dst.IP) {
			t.Skipf("skipped: the host already routes %s (%s); the test's link would clash with it", r.Dst, netDemandNet)
		}
	}
	pid := os.Getpid()
	ns, host, peer := fmt.Sprintf("allot-kt-%d-n", pid), fmt.Sprintf("akt%dh", pid), fmt.Sprintf("akt%dp", pid)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("removing netns %s: %v: %s", ns, err, out)
		}
	})
	run(t, "ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns)
	// Removing the namespace removes the pair; this is for a pair whose
	// peer never got there.
	t.Cleanup(func() {
		if _, err := netlink.LinkByName(host); err == nil {
			if out, err := exec.Command("ip", "link", "del", host).CombinedOutput(); err != nil {
				t.Errorf("removing %s: %v: %s", host, err, out)
			}
		}
	})
	run(t, "ip", "addr", "add", netDemandHost, "dev", host)
	run(t, "ip", "link", "set", host, "up")
	run(t, "ip", "-n", ns, "addr", "add", netDemandPeer, "dev", peer)
	run(t, "ip", "-n", ns, "link", "set", peer, "up")
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	return host, ns
}

// tcRate reads, for sample, the rate of the tc driver's HTB class a110:1
// on iface in Mbit/s ("unshaped" without Allot's root qdisc), or the error
// reading it.
func tcRate(iface string) func() string {
	return func() string {
		link, err := netlink.LinkByName(iface)
		if err != nil {
			return err.Error()
		}
		cs, err := netlink.ClassList(link, netlink.MakeHandle(0xa110, 0))
		if err != nil {
			return err.Error()
		}
		for _, c := range cs {
			if h, ok := c.(*netlink.HtbClass); ok && h.Handle == netlink.MakeHandle(0xa110, 1) {
				return fmt.Sprintf("%.1f", float64(h.Rate)*8/1e6) // the kernel's rate is bytes/s
			}
		}
		return "unshaped"
	}
}

// counterRate reads, for sample, a kernel counter's rate (file: one
// number; the rate × scale, over the last completed bin): the same value
// until the next bin is complete. tx_bytes × 8e-6 is the egress package
// usage reads, in Mbit/s; cpuacct.usage × 1e-6, the cpu used, in millicores.
func counterRate(file string, scale float64, bin time.Duration) func() string {
	var last uint64
	var lastAt time.Time
	rate := "-"
	return func() string {
		now := time.Now()
		if now.Sub(lastAt) < bin {
			return rate
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err.Error()
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return err.Error()
		}
		if !lastAt.IsZero() {
			rate = fmt.Sprintf("%.0f", float64(v-last)*scale/now.Sub(lastAt).Seconds())
		}
		last, lastAt = v, now
		return rate
	}
}

// cpuQuota reads, for sample, a v1 cpu cgroup's quota in millicores
// ("none" without one), or the error reading it.
func cpuQuota(dir string) func() string {
	return func() string {
		q, err := strconv.ParseInt(readLimit(dir, "cpu.cfs_quota_us"), 10, 64)
		if err != nil {
			return readLimit(dir, "cpu.cfs_quota_us")
		}
		p, err := strconv.ParseInt(readLimit(dir, "cpu.cfs_period_us"), 10, 64)
		if err != nil || p <= 0 {
			return readLimit(dir, "cpu.cfs_period_us")
		}
		if q < 0 {
			return "none"
		}
		return fmt.Sprintf("%dm", q*1000/p)
	}
}

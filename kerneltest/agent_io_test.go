package kerneltest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// TestAgentIODemandUnderLimit: the io counterpart of
// TestAgentDemandUnderLimit. A service held at its 10 MiB/s io floor
// (blkio throttle on a loop device the test made, named in
// client.io_devices) while loadgen writes O_DIRECT to that device asking
// 50 MiB/s, on a node whose io capacity (client.capacity) is 200 MiB/s.
// The client sees the service use its whole io limit, lifts it into the
// node's unallocated io for a probe, and bids what it measured: counting
// from the first plan that grants the floor (or, if none did, from the
// first plan after loadgen started), a plan grants ≥ 40 MiB/s within 4
// epochs; and from the first probe on the client lends the node's room
// until the plan catches up, so loadgen is never held near its floor again.
func TestAgentIODemandUnderLimit(t *testing.T) {
	l := needAgent(t, "an agent enforcing cgroup v1 with blkio")
	if l.V1.Blkio == "" {
		t.Skip("skipped: no v1 blkio hierarchy is mounted")
	}
	dev, num := loopDevice(t)
	const (
		mib   = 1 << 20
		floor = 10 * mib
		want  = 40 * mib
	)
	a := startAgentWith(t, l, "iodemand", agentOptions{client: fmt.Sprintf("  io_devices = [%q]\n  capacity { io = \"200MiB/s\" }\n", num.String())}, `service "iodemand" {
  class  = "standard"
  cgroup = "iodemand"
  min { io = "10MiB/s" }
}`)
	t.Logf("%s is %s", dev, num)
	// As in TestAgentDemandUnderLimit: the idle service bids once its
	// cgroup exists, a plan grants it its floor, and loadgen starts under it.
	a.cgroup("iodemand")
	a.waitFloor("a plan granting iodemand its io floor", ioGrants("iodemand"), floor)
	blkio := filepath.Join(l.V1.Blkio, a.parent, "iodemand")
	t.Logf("blkio.throttle.write_bps_device under the floor: %q", readLimit(blkio, "blkio.throttle.write_bps_device"))
	lg := a.launch("iodemand", "--io", "50MiB/s", "--io-file", dev, "--step", "500ms")
	startedAt := a.latest()
	launched := time.Now()
	limits := sample(t, blkioLimit(filepath.Join(blkio, "blkio.throttle.write_bps_device")))

	a.waitAfterReference(lg, ioGrants("iodemand"), floor, startedAt, 5, 24*agentEpoch)
	e0, reached := a.grantsSince("iodemand", ioGrants("iodemand"), floor, startedAt,
		func(p seenPlan, v int64) string {
			return fmt.Sprintf("%.1fMiB/s(cpu %dm)", float64(v)/mib, p.CPU["iodemand"])
		},
		func(v int64) bool { return v >= want })
	if dips := lg.logSteps(t, "loadgen", bidding.IO, launched, floor, "MiB/s", mib); dips > 0 {
		t.Errorf("loadgen was held near its floor in %d steps after the first probe let it through: the room lent until the next plan (client/lend.go) should have kept it there", dips)
	}
	t.Logf("blkio.throttle.write_bps_device while loadgen ran (time since launch: MiB/s; lifted by probes, restored to the plan): %s", limits())
	a.grantedWithin(e0, reached, 4, fmt.Sprintf("≥ %d MiB/s", want/mib))
	a.logDemandEvidence("iodemand", bidding.IO)
}

// blkioLimit reads a blkio throttle file (one device) for sample: its
// limit in MiB/s, or the file's content when it is not one line of
// "MAJ:MIN bytes" (empty: no limit), or the error reading it.
func blkioLimit(file string) func() string {
	return func() string {
		v := readLimit(filepath.Dir(file), filepath.Base(file))
		if f := strings.Fields(v); len(f) == 2 {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return fmt.Sprintf("%.1f", float64(n)/(1<<20))
			}
		}
		return v
	}
}

// readLimit is a blkio file's content, or the error reading it.
func readLimit(dir, file string) string {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

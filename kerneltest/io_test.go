package kerneltest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
)

// loopDevice attaches a 256 MiB sparse file to a free loop device, detached
// at cleanup, and returns its path and number.
func loopDevice(t *testing.T) (string, enforce.Device) {
	t.Helper()
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("skipped: losetup is not installed")
	}
	file := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, 256<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", file).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: no loop device to attach (%v: %s)", err, out)
	}
	dev := string(out[:len(out)-1])
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("detaching %s: %v: %s", dev, err, out)
		}
	})
	d, err := enforce.ParseDevice(readTrim(t, filepath.Join("/sys/block", filepath.Base(dev), "dev")))
	if err != nil {
		t.Fatal(err)
	}
	return dev, d
}

// TestBlockIOThrottle: loadgen writes O_DIRECT to a loop device the test
// made, asking 50 MiB/s, under a 10 MiB/s plan on that device. The blkio
// counters (usage.Reader) and loadgen's got both measure within ±15% of
// 10 MiB/s.
func TestBlockIOThrottle(t *testing.T) {
	needRoot(t, "block I/O throttling on a real cgroup and a loop device")
	l := v1Layout(t, "blkio")
	dev, num := loopDevice(t)
	const svc = "writer"
	parent, procs := service(t, l, svc)
	d := enforce.NewCgroupV1(l.V1, enforce.CgroupConfig{Parent: parent, Devices: []enforce.Device{num}})
	r := usage.New(usage.Config{V1: usage.V1{CPUAcct: l.V1.CPUAcct, Memory: l.V1.Memory, Blkio: l.V1.Blkio}, Parent: parent})
	const plan = 10 << 20
	if err := d.Apply(context.Background(), []bidding.Allocation{{Service: svc, IO: plan}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s is %s; write_bps_device: %q", dev, num, readTrim(t, filepath.Join(l.V1.Blkio, parent, svc, "blkio.throttle.write_bps_device")))
	p := start(t, procs, "", "--io", "50MiB/s", "--io-file", dev, "--step", "500ms", "--duration", "30s")
	time.Sleep(1500 * time.Millisecond)
	from := time.Now()
	if _, err := r.Read(svc, enforce.Target{}, from); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	to := time.Now()
	u, err := r.Read(svc, enforce.Target{}, to)
	if err != nil || !u.Have[bidding.IO] {
		t.Fatalf("reading blkio: %v (have %v)", err, u.Have)
	}
	time.Sleep(600 * time.Millisecond)
	p.alive(t)
	asked, got, n := p.window(t, bidding.IO, from, to)
	const mib = 1 << 20
	t.Logf("plan 10 MiB/s: blkio measured %.2f MiB/s over %.1f s; loadgen asked %.1f MiB/s got %.2f MiB/s over %d steps",
		u.Value[bidding.IO]/mib, to.Sub(from).Seconds(), asked/mib, got/mib, n)
	if !within(u.Value[bidding.IO], plan, 0.15) {
		t.Errorf("blkio measured %.2f MiB/s, want 10 ±15%%", u.Value[bidding.IO]/mib)
	}
	if !within(got, plan, 0.15) {
		t.Errorf("loadgen got %.2f MiB/s, want 10 ±15%%", got/mib)
	}
}

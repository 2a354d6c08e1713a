package kerneltest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	"github.com/allot-dev/allot/usage"
)

// TestCPUQuota: loadgen asks 1.5 cores in a service cgroup under a plan of
// 250m, then 500m. Measured usage (cpuacct.usage through usage.Reader, over
// 3 s) is within ±10% of each plan, and loadgen reports the shortfall
// (asked − got ≈ 1.25, then 1.0 cores) within the same ±10% of the plan.
func TestCPUQuota(t *testing.T) {
	needRoot(t, "a cpu quota on a real cgroup")
	l := v1Layout(t, "cpuacct")
	const svc = "burn"
	parent, procs := service(t, l, svc)
	// The quota is what is tested, not the host's contention: other work
	// on this machine competes with the cgroup by weight, so the test's
	// parent and service get the largest weight (the driver never writes
	// cpu.shares; the quota still caps them).
	for _, d := range []string{filepath.Join(l.V1.CPU, parent), filepath.Join(l.V1.CPU, parent, svc)} {
		if err := os.WriteFile(filepath.Join(d, "cpu.shares"), []byte("262144"), 0); err != nil {
			t.Fatal(err)
		}
	}
	d := enforce.NewCgroupV1(l.V1, enforce.CgroupConfig{Parent: parent})
	r := usage.New(usage.Config{V1: usage.V1{CPUAcct: l.V1.CPUAcct, Memory: l.V1.Memory, Blkio: l.V1.Blkio}, Parent: parent})
	ctx := context.Background()
	if err := d.Apply(ctx, []bidding.Allocation{{Service: svc, CPU: 250}}); err != nil {
		t.Fatal(err)
	}
	const ask = 1.5
	p := start(t, procs, "", "--cpu", "1.5", "--step", "500ms", "--duration", "30s")

	for _, plan := range []int64{250, 500} {
		if err := d.Apply(ctx, []bidding.Allocation{{Service: svc, CPU: plan}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // one loadgen step under the new quota, and then some
		from := time.Now()
		if _, err := r.Read(svc, enforce.Target{}, from); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		to := time.Now()
		u, err := r.Read(svc, enforce.Target{}, to)
		if err != nil || !u.Have[bidding.CPU] {
			t.Fatalf("reading cpu usage: %v (have %v)", err, u.Have)
		}
		time.Sleep(600 * time.Millisecond) // the step that ends after `to` is printed
		p.alive(t)
		asked, got, n := p.window(t, bidding.CPU, from, to)
		measured := u.Value[bidding.CPU] / 1000
		want := float64(plan) / 1000
		t.Logf("plan %dm: cpuacct measured %.3f cores over %.1f s; loadgen asked %.2f got %.3f over %d steps: shortfall %.3f (expected %.2f)",
			plan, measured, to.Sub(from).Seconds(), asked, got, n, asked-got, ask-want)
		if !within(measured, want, 0.10) {
			t.Errorf("plan %dm: measured %.3f cores, want %.3f ±10%%", plan, measured, want)
		}
		if !within(asked, ask, 1e-9) || !within(got, want, 0.10) {
			t.Errorf("plan %dm: loadgen asked %.2f got %.3f: shortfall %.3f, want %.3f (got within ±10%% of %.3f)", plan, asked, got, asked-got, ask-want, want)
		}
	}
}

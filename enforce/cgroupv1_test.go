package enforce

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func fakeV1(root string, blkio bool) V1Mounts {
	m := V1Mounts{CPU: filepath.Join(root, "cpu,cpuacct"), Memory: filepath.Join(root, "memory")}
	if blkio {
		m.Blkio = filepath.Join(root, "blkio")
	}
	return m
}

// TestCgroupV1Files checks the exact files and values the v1 driver writes
// into fake cpu, memory and blkio hierarchies.
func TestCgroupV1Files(t *testing.T) {
	dev := []Device{{254, 0}}
	cases := []struct {
		name    string
		blkio   bool
		devices []Device
		targets Targets
		allocs  []bidding.Allocation
		want    map[string]string
		absent  []string
	}{{
		name: "limits", blkio: true, devices: dev,
		allocs: []bidding.Allocation{alloc("web", 250, mib256, 1<<20)},
		want: map[string]string{
			"cpu,cpuacct/allot/web/cpu.cfs_period_us":         "100000",
			"cpu,cpuacct/allot/web/cpu.cfs_quota_us":          "25000",
			"memory/allot/web/memory.soft_limit_in_bytes":     "255013684",
			"memory/allot/web/memory.limit_in_bytes":          "268435456",
			"blkio/allot/web/blkio.throttle.read_bps_device":  "254:0 1048576",
			"blkio/allot/web/blkio.throttle.write_bps_device": "254:0 1048576",
		},
	}, {
		name: "zero means no limit", blkio: true, devices: dev,
		allocs: []bidding.Allocation{alloc("web", 0, 0, 0)},
		want: map[string]string{
			"cpu,cpuacct/allot/web/cpu.cfs_quota_us":          "-1",
			"memory/allot/web/memory.soft_limit_in_bytes":     "-1",
			"memory/allot/web/memory.limit_in_bytes":          "-1",
			"blkio/allot/web/blkio.throttle.read_bps_device":  "254:0 0",
			"blkio/allot/web/blkio.throttle.write_bps_device": "254:0 0",
		},
	}, {
		name: "cgroup from the service definition", blkio: true,
		targets: Targets{"web": {Cgroup: "svc/web"}},
		allocs:  []bidding.Allocation{alloc("web", 1500, 0, 0)},
		want:    map[string]string{"cpu,cpuacct/allot/svc/web/cpu.cfs_quota_us": "150000"},
		absent:  []string{"cpu,cpuacct/allot/web/"},
	}, {
		name: "no devices: blkio untouched", blkio: true,
		allocs: []bidding.Allocation{alloc("web", 100, 0, 1<<20)},
		absent: []string{"blkio/"},
	}, {
		name: "no blkio hierarchy: io skipped", devices: dev,
		allocs: []bidding.Allocation{alloc("web", 100, 0, 1<<20)},
		want:   map[string]string{"cpu,cpuacct/allot/web/cpu.cfs_quota_us": "10000"},
		absent: []string{"blkio/"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			d := NewCgroupV1(fakeV1(root, tc.blkio), CgroupConfig{Parent: "/allot", Devices: tc.devices, Resolver: tc.targets})
			if err := d.Apply(context.Background(), tc.allocs); err != nil {
				t.Fatal(err)
			}
			checkTree(t, root, tc.want, tc.absent)
		})
	}
}

func TestCgroupV1IdempotentAndRemovesNothing(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"memory/other/memory.limit_in_bytes": "1024", "cpu,cpuacct/allot/old/cpu.cfs_quota_us": "5000"})
	d := NewCgroupV1(fakeV1(root, true), CgroupConfig{Parent: "/allot", Devices: []Device{{8, 0}}})
	ctx := context.Background()
	plan := []bidding.Allocation{alloc("web", 250, mib256, 1<<20)}
	if err := d.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	first := tree(t, root)
	if err := d.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if second := tree(t, root); !maps.Equal(first, second) {
		t.Fatalf("re-applying changed the tree:\n%v\n%v", first, second)
	}
	checkTree(t, root, map[string]string{"memory/other/memory.limit_in_bytes": "1024", "cpu,cpuacct/allot/old/cpu.cfs_quota_us": "5000"}, nil)
}

func TestCgroupV1NeedsCPUAndMemory(t *testing.T) {
	root := t.TempDir()
	m := fakeV1(root, true)
	m.Memory = ""
	errHas(t, NewCgroupV1(m, CgroupConfig{Parent: "/allot"}).Prepare(context.Background()), "cpu and memory hierarchies")
}

// TestCgroupsExistWhereUsageReads: whatever the mount layout, after Prepare
// the parent and after Apply each service's cgroup exist in every hierarchy
// package usage reads (cpuacct for cpu time, memory, and the unified root),
// so a service put into them is measured without anyone creating them by
// hand. Co-mounted cpu,cpuacct gets no second directory.
func TestCgroupsExistWhereUsageReads(t *testing.T) {
	cases := []struct {
		name  string
		mk    func(root string) *Cgroup
		dirs  []string // must exist after Apply (parent ones after Prepare)
		files map[string]string
	}{{
		name: "v1 cpu,cpuacct co-mounted",
		mk: func(root string) *Cgroup {
			m := fakeV1(root, false)
			m.CPUAcct = m.CPU
			return NewCgroupV1(m, CgroupConfig{Parent: "/allot"})
		},
		dirs:  []string{"cpu,cpuacct/allot/", "cpu,cpuacct/allot/web/", "memory/allot/web/"},
		files: map[string]string{"cpu,cpuacct/allot/web/cpu.cfs_quota_us": "25000"},
	}, {
		name: "v1 cpu and cpuacct separate",
		mk: func(root string) *Cgroup {
			m := V1Mounts{CPU: filepath.Join(root, "cpu"), CPUAcct: filepath.Join(root, "cpuacct"), Memory: filepath.Join(root, "memory")}
			return NewCgroupV1(m, CgroupConfig{Parent: "/allot"})
		},
		dirs:  []string{"cpuacct/allot/", "cpuacct/allot/web/", "cpu/allot/web/", "memory/allot/web/"},
		files: map[string]string{"cpu/allot/web/cpu.cfs_quota_us": "25000"},
	}, {
		name: "v2",
		mk: func(root string) *Cgroup {
			files(t, root, map[string]string{"v2/cgroup.controllers": "cpu memory"})
			return NewCgroupV2(filepath.Join(root, "v2"), CgroupConfig{Parent: "/allot"})
		},
		dirs:  []string{"v2/allot/", "v2/allot/web/"},
		files: map[string]string{"v2/allot/web/cpu.max": "25000 100000"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			d := tc.mk(root)
			if err := d.Prepare(context.Background()); err != nil {
				t.Fatal(err)
			}
			var parents []string
			for _, dir := range tc.dirs {
				if filepath.Base(dir) == "allot" {
					parents = append(parents, dir)
				}
			}
			got := tree(t, root)
			for _, p := range parents {
				if _, ok := got[p]; !ok {
					t.Errorf("Prepare did not create %s", p)
				}
			}
			if err := d.Apply(context.Background(), []bidding.Allocation{alloc("web", 250, 0, 0)}); err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(tc.files)
			for _, dir := range tc.dirs {
				want[dir] = ""
			}
			checkTree(t, root, want, []string{"cpu,cpuacct/cpuacct/", "cpuacct/allot/web/cpu.cfs_quota_us"})
		})
	}
}

// Ensure creates a service's cgroup in every hierarchy it is measured in
// (blkio too, without io devices) before any plan, writing no limit, and
// leaves an existing cgroup's limits alone.
func TestEnsureCreatesCgroupsWithoutLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func(root string) *Cgroup
		dirs []string
	}{{
		name: "v1 separate cpuacct, blkio without devices",
		mk: func(root string) *Cgroup {
			m := V1Mounts{CPU: filepath.Join(root, "cpu"), CPUAcct: filepath.Join(root, "cpuacct"),
				Memory: filepath.Join(root, "memory"), Blkio: filepath.Join(root, "blkio")}
			return NewCgroupV1(m, CgroupConfig{Parent: "/allot", Resolver: Targets{"web": {Cgroup: "svc/web"}}})
		},
		dirs: []string{"cpu/allot/svc/web/", "cpuacct/allot/svc/web/", "memory/allot/svc/web/", "blkio/allot/svc/web/", "cpu/allot/api/"},
	}, {
		name: "v2",
		mk: func(root string) *Cgroup {
			files(t, root, map[string]string{"v2/cgroup.controllers": "cpu memory"})
			return NewCgroupV2(filepath.Join(root, "v2"), CgroupConfig{Parent: "/allot", Resolver: Targets{"web": {Cgroup: "svc/web"}}})
		},
		dirs: []string{"v2/allot/svc/web/", "v2/allot/api/"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			d := tc.mk(root)
			ctx := context.Background()
			if err := d.Ensure(ctx, []string{"web", "api"}); err != nil {
				t.Fatal(err)
			}
			got := tree(t, root)
			for _, dir := range tc.dirs {
				if _, ok := got[dir]; !ok {
					t.Errorf("%s missing; tree %v", dir, slices.Sorted(maps.Keys(got)))
				}
			}
			for f := range got {
				if strings.HasSuffix(f, "cfs_quota_us") || strings.HasSuffix(f, "limit_in_bytes") || strings.HasSuffix(f, "cpu.max") || strings.HasSuffix(f, "memory.max") {
					t.Errorf("Ensure wrote a limit: %s", f)
				}
			}
			// A limit written since stays.
			if err := d.Apply(ctx, []bidding.Allocation{alloc("web", 250, 0, 0)}); err != nil {
				t.Fatal(err)
			}
			before := tree(t, root)
			if err := d.Ensure(ctx, []string{"web", "api"}); err != nil {
				t.Fatal(err)
			}
			if after := tree(t, root); !maps.Equal(before, after) {
				t.Errorf("a second Ensure changed the tree")
			}
		})
	}
}

package enforce

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

const (
	mib256  = 268435456
	high256 = 255013684 // mib256 - mib256/20
)

func alloc(svc string, cpu, mem, io int64) bidding.Allocation {
	return bidding.Allocation{Service: svc, Node: "n1", CPU: cpu, Memory: mem, IO: io}
}

// TestCgroupV2Files checks the exact files and values the v2 driver writes
// into a fake unified hierarchy.
func TestCgroupV2Files(t *testing.T) {
	dev := []Device{{8, 0}}
	cases := []struct {
		name     string
		ctrls    string            // the root's cgroup.controllers
		pre      map[string]string // files present before the apply
		devices  []Device
		targets  Targets
		allocs   []bidding.Allocation
		want     map[string]string
		absent   []string
		errParts []string // the apply's error must name these (none: no error)
	}{{
		name: "limits", ctrls: "cpuset cpu io memory pids", devices: dev,
		allocs: []bidding.Allocation{alloc("web", 250, mib256, 1<<20)},
		want: map[string]string{
			"cgroup.subtree_control":       "+cpu +memory +io",
			"allot/cgroup.subtree_control": "+cpu +memory +io",
			"allot/web/cpu.max":            "25000 100000",
			"allot/web/memory.high":        "255013684",
			"allot/web/memory.max":         "268435456",
			"allot/web/io.max":             "8:0 rbps=1048576 wbps=1048576",
		},
	}, {
		name: "zero means no limit", ctrls: "cpu io memory", devices: dev,
		allocs: []bidding.Allocation{alloc("web", 0, 0, 0)},
		want: map[string]string{
			"allot/web/cpu.max":     "max 100000",
			"allot/web/memory.high": "max",
			"allot/web/memory.max":  "max",
			"allot/web/io.max":      "8:0 rbps=max wbps=max",
		},
	}, {
		name: "cpu below the kernel's 1ms quota is raised to it", ctrls: "cpu memory",
		allocs: []bidding.Allocation{alloc("web", 3, 0, 0)},
		want:   map[string]string{"allot/web/cpu.max": "1000 100000"},
	}, {
		name: "controllers already enabled are not written again", ctrls: "cpu memory",
		pre:    map[string]string{"cgroup.subtree_control": "cpu memory pids"},
		allocs: []bidding.Allocation{alloc("web", 1000, 0, 0)},
		want: map[string]string{
			"cgroup.subtree_control":       "cpu memory pids",
			"allot/cgroup.subtree_control": "+cpu +memory",
		},
	}, {
		name: "cgroup from the service definition, nested", ctrls: "cpu memory",
		targets: Targets{"web": {Cgroup: "/team/web-1"}},
		allocs:  []bidding.Allocation{alloc("web", 500, mib256, 0)},
		want: map[string]string{
			"allot/team/cgroup.subtree_control": "+cpu +memory",
			"allot/team/web-1/cpu.max":          "50000 100000",
			"allot/team/web-1/memory.max":       "268435456",
		},
		absent: []string{"allot/web/"},
	}, {
		name: "no devices configured: io is skipped", ctrls: "cpu io memory",
		allocs: []bidding.Allocation{alloc("web", 100, 0, 1<<20)},
		want:   map[string]string{"allot/cgroup.subtree_control": "+cpu +memory"},
		absent: []string{"allot/web/io.max"},
	}, {
		name: "io controller not available: io is skipped", ctrls: "cpu memory", devices: dev,
		allocs: []bidding.Allocation{alloc("web", 100, 0, 1<<20)},
		want:   map[string]string{"allot/cgroup.subtree_control": "+cpu +memory"},
		absent: []string{"allot/web/io.max"},
	}, {
		name: "memory lowered to above current usage", ctrls: "cpu memory",
		pre:    map[string]string{"allot/web/memory.current": "104857600", "allot/web/memory.max": "max"},
		allocs: []bidding.Allocation{alloc("web", 100, mib256, 0)},
		want:   map[string]string{"allot/web/memory.high": "255013684", "allot/web/memory.max": "268435456"},
	}, {
		name: "memory.max is not lowered below current usage", ctrls: "cpu memory",
		pre:      map[string]string{"allot/web/memory.current": "314572800", "allot/web/memory.max": "max"},
		allocs:   []bidding.Allocation{alloc("web", 100, mib256, 0), alloc("api", 100, mib256, 0)},
		want:     map[string]string{"allot/web/memory.high": "255013684", "allot/web/memory.max": "max", "allot/web/cpu.max": "10000 100000", "allot/api/memory.max": "268435456"},
		errParts: []string{"service web", "memory.max not lowered to 268435456", "uses 314572800"},
	}, {
		name: "a cgroup climbing out of the parent is refused, the others applied", ctrls: "cpu memory",
		targets:  Targets{"web": {Cgroup: "../escape"}},
		allocs:   []bidding.Allocation{alloc("api", 100, 0, 0), alloc("web", 100, 0, 0)},
		want:     map[string]string{"allot/api/cpu.max": "10000 100000"},
		absent:   []string{"escape/"},
		errParts: []string{"service web", `"../escape"`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			files(t, root, map[string]string{"cgroup.controllers": tc.ctrls})
			files(t, root, tc.pre)
			d := NewCgroupV2(root, CgroupConfig{Parent: "/allot", Devices: tc.devices, Resolver: tc.targets})
			err := d.Apply(context.Background(), tc.allocs)
			if len(tc.errParts) == 0 && err != nil {
				t.Fatal(err)
			}
			if len(tc.errParts) > 0 {
				errHas(t, err, tc.errParts...)
			}
			checkTree(t, root, tc.want, tc.absent)
		})
	}
}

// TestCgroupV2IdempotentAndRemovesNothing: applying the same plan twice
// leaves the same files; a smaller plan and an empty plan delete nothing,
// neither Allot's earlier cgroups nor anything it did not create.
func TestCgroupV2IdempotentAndRemovesNothing(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{
		"cgroup.controllers":      "cpu io memory",
		"system.slice/cpu.max":    "50000 100000",
		"allot/legacy/notes":      "not ours",
		"allot/web/cgroup.procs":  "",
		"allot/web/memory.events": "oom 0",
	})
	log, buf := logBuf()
	d := NewCgroupV2(root, CgroupConfig{Parent: "allot", Log: log})
	ctx := context.Background()
	plan := []bidding.Allocation{alloc("web", 250, mib256, 1<<20), alloc("db", 2000, 2*mib256, 1<<20)}
	if err := d.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	first := tree(t, root)
	if err := d.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if second := tree(t, root); !maps.Equal(first, second) {
		t.Fatalf("second apply changed the tree:\n%v\n%v", first, second)
	}
	if n := strings.Count(buf.String(), "io allocations are not enforced"); n != 1 {
		t.Fatalf("io warning logged %d times, want once:\n%s", n, buf.String())
	}
	for _, p := range [][]bidding.Allocation{plan[:1], nil} {
		if err := d.Apply(ctx, p); err != nil {
			t.Fatal(err)
		}
		after := tree(t, root)
		for k, v := range first {
			if after[k] != v {
				t.Fatalf("%s changed to %q (was %q) by a plan without it", k, after[k], v)
			}
		}
	}
}

func TestCgroupV2PrepareNamesTheMissingController(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"cgroup.controllers": "hugetlb"}) // a hybrid host's unified mount
	err := NewCgroupV2(root, CgroupConfig{Parent: "/allot"}).Prepare(context.Background())
	errHas(t, err, "controller cpu is not available", "cgroup.controllers", "cgroup-v1")
	checkTree(t, root, nil, []string{"allot/"})
}

// TestResolverFailureSkipsUnknownServices: when the service definitions
// cannot be fetched, a service the resolver still knows is applied, the
// others are skipped (not put in a guessed cgroup) and reported.
func TestResolverFailureSkipsUnknownServices(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"cgroup.controllers": "cpu memory"})
	d := NewCgroupV2(root, CgroupConfig{Parent: "/allot", Resolver: failing{"web": {Cgroup: "w"}}})
	err := d.Apply(context.Background(), []bidding.Allocation{alloc("web", 100, 0, 0), alloc("db", 100, 0, 0)})
	errHas(t, err, "service db", "servers unreachable")
	checkTree(t, root, map[string]string{"allot/w/cpu.max": "10000 100000"}, []string{"allot/db/", "allot/web/"})
}

package enforce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// TestNewChoosesTheDriver runs New against fake hosts (a mountinfo naming
// directories in a temp dir, a fake netlink) for every mode.
func TestNewChoosesTheDriver(t *testing.T) {
	unified := []string{"ROOT/v2 rw - cgroup2 cgroup2 rw"}
	hybrid := []string{"ROOT/cpu rw - cgroup cgroup rw,cpu,cpuacct", "ROOT/memory rw - cgroup cgroup rw,memory", "ROOT/unified rw - cgroup2 cgroup2 rw"}
	cases := []struct {
		name, mode string
		lines      []string
		blockV2    bool   // a file where the parent cgroup should go: not writable
		want       string // the driver's name, or "" for an error
		errParts   []string
		warn       string
	}{
		{name: "none", mode: "none", lines: unified, want: "none"},
		{name: "auto on v2", mode: "auto", lines: unified, want: "cgroup-v2+tc"},
		{name: "auto on a hybrid host picks v1", mode: "auto", lines: hybrid, want: "cgroup-v1+tc"},
		{name: "v1 asked for on a hybrid host", mode: "cgroup-v1", lines: hybrid, want: "cgroup-v1+tc"},
		{name: "v2 asked for on a hybrid host", mode: "cgroup-v2", lines: hybrid, errParts: []string{`enforce = "cgroup-v2"`, "not usable", "hugetlb"}},
		{name: "v1 asked for on a v2 host", mode: "cgroup-v1", lines: unified, errParts: []string{`enforce = "cgroup-v1"`, "no v1 hierarchy for cpu and memory"}},
		{name: "auto without cgroups reports only", mode: "auto", lines: []string{"ROOT/p rw - proc proc rw"}, want: "none", warn: "no usable cgroup hierarchy"},
		{name: "auto on a hierarchy it cannot write reports only", mode: "auto", lines: unified, blockV2: true, want: "none", warn: "creating cgroup"},
		{name: "v2 asked for and not writable", mode: "cgroup-v2", lines: unified, blockV2: true, errParts: []string{"preparing parent cgroup /allot", "creating cgroup"}},
		{name: "unknown mode", mode: "cgroup-v3", lines: unified, errParts: []string{`"cgroup-v3"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			files(t, root, map[string]string{"v2/cgroup.controllers": "cpu io memory", "unified/cgroup.controllers": "hugetlb"})
			if tc.blockV2 {
				files(t, root, map[string]string{"v2/allot": "a file, not a directory"})
			}
			log, buf := logBuf()
			d, err := New(context.Background(), Options{Mode: tc.mode, Parent: "/allot", Log: log,
				Mountinfo: mountinfoFile(t, root, tc.lines...), Netlink: newFakeNL()})
			if tc.want == "" {
				errHas(t, err, tc.errParts...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Name() != tc.want {
				t.Fatalf("driver %s, want %s", d.Name(), tc.want)
			}
			if tc.warn != "" && !strings.Contains(buf.String(), tc.warn) {
				t.Fatalf("no warning containing %q:\n%s", tc.warn, buf.String())
			}
			if strings.HasPrefix(tc.want, "cgroup-v2") {
				if fi, err := os.Stat(filepath.Join(root, "v2/allot")); err != nil || !fi.IsDir() {
					t.Fatalf("the parent cgroup was not created: %v", err)
				}
			}
		})
	}
}

// TestMultiRunsEveryDriver: a failing driver does not keep the next from
// applying, and the error names the one that failed.
func TestMultiRunsEveryDriver(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"cgroup.controllers": "cpu memory", "allot/web": "not a dir"})
	f := newFakeNL("veth-web")
	targets := Targets{"web": {Interface: "veth-web"}}
	m := &Multi{Drivers: []Driver{NewCgroupV2(root, CgroupConfig{Parent: "/allot", Resolver: targets}), NewTC(f, targets, nil)}}
	err := m.Apply(context.Background(), []bidding.Allocation{{Service: "web", Node: "n1", CPU: 100, Net: 1e6}})
	errHas(t, err, "cgroup-v2: service web", "creating cgroup")
	if f.shaped("veth-web") != "1000000" {
		t.Fatalf("tc did not run after the cgroup driver failed: %s", f.shaped("veth-web"))
	}
	if m.Name() != "cgroup-v2+tc" {
		t.Fatal(m.Name())
	}
}

package cgroups

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/internal/fakefs"
)

func TestParseMountinfo(t *testing.T) {
	in := `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 master:2 - cgroup cgroup rw,cpu,cpuacct
40 30 0:37 /docker/abc /sys/fs/cgroup/with\040space ro,relatime - cgroup2 cgroup2 rw

41 30 0:38 / /x rw - proc proc
`
	ms, err := parseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("%d mounts, want 4: %+v", len(ms), ms)
	}
	if m := ms[1]; m.Point != "/sys/fs/cgroup/cpu,cpuacct" || m.FSType != "cgroup" || strings.Join(m.Super, ",") != "rw,cpu,cpuacct" {
		t.Fatalf("optional fields not skipped: %+v", m)
	}
	if m := ms[2]; m.Point != "/sys/fs/cgroup/with space" || m.Root != "/docker/abc" || !m.readOnly() {
		t.Fatalf("escapes or options: %+v", m)
	}
	if m := ms[3]; m.Super != nil || m.FSType != "proc" {
		t.Fatalf("no superblock options: %+v", m)
	}
	for _, bad := range []string{"1 2 3 4 5 - cgroup", "1 2 0:1 / /a rw - cgroup2", "no separator at all here ok"} {
		if _, err := parseMountinfo(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseMountinfo: any input is either rejected or gives mounts with a
// mount point and a type; nothing panics.
func FuzzParseMountinfo(f *testing.F) {
	f.Add("30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n")
	f.Add("40 30 0:37 / /a\\040b ro master:1 - cgroup2 cgroup2 rw,nsdelegate\n")
	f.Add("1 1 1 \\ \\1 \\12 - a b\n")
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseMountinfo(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(ms) > strings.Count(s, "\n")+1 {
			t.Fatalf("%d mounts from %d lines", len(ms), strings.Count(s, "\n")+1)
		}
		for _, m := range ms {
			if m.FSType == "" || m.Point == "" || len(m.Opts) == 0 {
				t.Fatalf("mount without a type, point or options: %+v from %q", m, s)
			}
		}
	})
}

func files(t *testing.T, root string, m map[string]string) { fakefs.Files(t, root, m) }

func mountinfoFile(t *testing.T, root string, lines ...string) string {
	return fakefs.Mountinfo(t, root, lines...)
}

func TestDetect(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"unified/cgroup.controllers": "hugetlb\n", "v2/cgroup.controllers": "cpuset cpu io memory pids\n"})
	hybrid := []string{
		"ROOT/cg rw - tmpfs tmpfs rw",
		"ROOT/cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
		"ROOT/cg/memory rw - cgroup cgroup rw,memory",
		"ROOT/cg/blkio rw - cgroup cgroup rw,blkio",
		"ROOT/cg/systemd rw - cgroup cgroup rw,xattr,name=systemd",
		"ROOT/unified rw - cgroup2 cgroup2 rw",
	}
	separate := []string{
		"ROOT/cg/cpu rw - cgroup cgroup rw,cpu",
		"ROOT/cg/cpuacct rw - cgroup cgroup rw,cpuacct",
		"ROOT/cg/memory rw - cgroup cgroup rw,memory",
		"ROOT/unified rw - cgroup2 cgroup2 rw",
	}
	cases := []struct {
		name       string
		lines      []string
		v2         string
		v1         V1Mounts
		separate   bool
		noV2, noV1 string
	}{
		{name: "unified", lines: []string{"ROOT/v2 rw - cgroup2 cgroup2 rw,nsdelegate"}, v2: root + "/v2", noV1: "cpu and memory"},
		{name: "hybrid: cpu,cpuacct co-mounted on v1", lines: hybrid, noV2: `offers ["hugetlb"]`,
			v1: V1Mounts{CPU: root + "/cg/cpu,cpuacct", CPUAcct: root + "/cg/cpu,cpuacct", Memory: root + "/cg/memory", Blkio: root + "/cg/blkio"}},
		{name: "cpu and cpuacct separate", lines: separate, noV2: `offers ["hugetlb"]`, separate: true,
			v1: V1Mounts{CPU: root + "/cg/cpu", CPUAcct: root + "/cg/cpuacct", Memory: root + "/cg/memory"}},
		{name: "nothing", lines: []string{"ROOT/proc rw - proc proc rw"}, noV2: "no cgroup2 filesystem", noV1: "cpu and memory"},
		{name: "v1 without memory", lines: hybrid[1:2], v1: V1Mounts{CPU: root + "/cg/cpu,cpuacct", CPUAcct: root + "/cg/cpu,cpuacct"}, noV1: "for memory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := DetectFile(mountinfoFile(t, root, tc.lines...))
			if err != nil {
				t.Fatal(err)
			}
			if l.V2 != tc.v2 || l.V1 != tc.v1 {
				t.Fatalf("got v2 %q v1 %+v, want %q %+v", l.V2, l.V1, tc.v2, tc.v1)
			}
			if l.V1.CPUAcctSeparate() != tc.separate {
				t.Fatalf("CPUAcctSeparate %v, want %v", l.V1.CPUAcctSeparate(), tc.separate)
			}
			if !strings.Contains(l.NoV2, tc.noV2) || (tc.v2 != "") != (l.NoV2 == "") {
				t.Fatalf("NoV2 %q, want it to contain %q", l.NoV2, tc.noV2)
			}
			if !strings.Contains(l.NoV1(), tc.noV1) || (tc.noV1 == "") != l.V1OK() {
				t.Fatalf("NoV1 %q, want it to contain %q", l.NoV1(), tc.noV1)
			}
		})
	}
	if _, err := DetectFile(filepath.Join(root, "absent")); err == nil {
		t.Fatal("a missing mountinfo detected")
	}
}

func TestChoose(t *testing.T) {
	v1 := V1Mounts{CPU: "/c", CPUAcct: "/a", Memory: "/m"}
	both := Layout{V2: "/u", V1: v1}
	onlyV1 := Layout{NoV2: "no cgroup2 mount offers both cpu and memory: /u offers [\"hugetlb\"]", V1: v1}
	onlyV2 := Layout{V2: "/u"}
	none := Layout{NoV2: "no cgroup2 filesystem is mounted"}
	cases := []struct {
		mode string
		l    Layout
		want Hierarchy
		err  string
	}{
		{"auto", both, Hierarchy{Version: 2, V2: "/u"}, ""},
		{"none", onlyV1, Hierarchy{Version: 1, V1: v1}, ""},
		{"", onlyV2, Hierarchy{Version: 2, V2: "/u"}, ""},
		{"cgroup-v1", both, Hierarchy{Version: 1, V1: v1}, ""},
		{"cgroup-v2", both, Hierarchy{Version: 2, V2: "/u"}, ""},
		{"cgroup-v2", onlyV1, Hierarchy{}, "cgroup v2 is not usable: no cgroup2 mount offers both cpu and memory"},
		{"cgroup-v1", onlyV2, Hierarchy{}, "cgroup v1 is not usable: no v1 hierarchy for cpu and memory"},
		{"auto", none, Hierarchy{}, "no usable cgroup hierarchy: no cgroup2 filesystem is mounted; no v1 hierarchy"},
		{"cgroup-v3", both, Hierarchy{}, `mode "cgroup-v3"`},
	}
	for _, c := range cases {
		got, err := Choose(c.mode, c.l)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Choose(%q, %+v) = %+v, %v; want an error containing %q", c.mode, c.l, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Choose(%q, %+v) = %+v, %v; want %+v", c.mode, c.l, got, err, c.want)
		}
	}
}

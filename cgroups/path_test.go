package cgroups

import "testing"

func TestCgroupRel(t *testing.T) {
	cases := []struct{ parent, svc, cgroup, want string }{
		{"/allot", "web", "", "allot/web"},
		{"/allot", "web", "checkout", "allot/checkout"},
		{"allot/", "web", "/team//web/", "allot/team/web"},
		{"/", "web", "", "web"},
		{"", "web", "docker/abc", "docker/abc"},
		{"/allot", "web", "../etc", ""},
		{"/../x", "web", "", ""},
		{"/allot", "web", "/", ""},
		{"/allot", "web", ".", ""},
	}
	for _, c := range cases {
		got, err := CgroupRel(c.parent, c.svc, c.cgroup)
		if c.want == "" {
			if err == nil {
				t.Errorf("CgroupRel(%q, %q, %q) = %q, want an error", c.parent, c.svc, c.cgroup, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("CgroupRel(%q, %q, %q) = %q, %v; want %q", c.parent, c.svc, c.cgroup, got, err, c.want)
		}
	}
}

func TestCleanRel(t *testing.T) {
	for in, want := range map[string]string{"/allot/": "allot", "docker//abc": "docker/abc", "/": "", "": "", "./a/./b": "a/b"} {
		if got, err := CleanRel("p", in); err != nil || got != want {
			t.Errorf("CleanRel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "/a/../b", "a/.."} {
		if got, err := CleanRel("p", bad); err == nil {
			t.Errorf("CleanRel(%q) = %q, want the .. refusal", bad, got)
		}
	}
}

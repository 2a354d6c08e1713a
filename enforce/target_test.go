package enforce

import "testing"

func TestCgroupPath(t *testing.T) {
	cases := []struct{ parent, svc, cgroup, want string }{
		{"/allot", "web", "", "allot/web"},
		{"/allot", "web", "checkout", "allot/checkout"},
		{"allot/", "web", "/team//web/", "allot/team/web"},
		{"/", "web", "", "web"},
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

func TestCheckInterface(t *testing.T) {
	for _, ok := range []string{"eth0", "veth-checkout", "a"} {
		if err := checkInterface(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "veth-checkout-16c", "a/b", "a b", "..", "eth0:1"} {
		if checkInterface(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseDevice(t *testing.T) {
	if d, err := ParseDevice(" 254:0\n"); err != nil || d != (Device{254, 0}) || d.String() != "254:0" {
		t.Fatalf("%v %v", d, err)
	}
	for _, bad := range []string{"", "8", "8:", ":0", "a:b", "-1:0", "8:0:1"} {
		if _, err := ParseDevice(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

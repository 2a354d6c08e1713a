package enforce

import "testing"

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

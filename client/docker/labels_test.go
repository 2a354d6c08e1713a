package docker

import (
	"errors"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		ok      bool
		wantErr string // the label named in the error; "" for none
		class   bidding.Class
		min     bidding.Vec
		max     bidding.Vec
		iface   string
	}{
		{name: "unlabelled", labels: map[string]string{"other": "x"}},
		{name: "defaults", labels: map[string]string{"allot.service": "web"}, ok: true, class: "standard"},
		{name: "full", labels: map[string]string{"allot.service": "web", "allot.class": "critical",
			"allot.min.cpu": "250m", "allot.min.memory": "256MiB", "allot.max.cpu": "1.5", "allot.max.memory": "1GiB",
			"allot.interface": "eth1"}, ok: true, class: "critical",
			min: bidding.Vec{bidding.CPU: 250, bidding.Memory: 256 << 20}, max: bidding.Vec{bidding.CPU: 1500, bidding.Memory: 1 << 30},
			iface: "eth1"},
		{name: "batch whole cores", labels: map[string]string{"allot.service": "b", "allot.class": "batch", "allot.max.cpu": "2"},
			ok: true, class: "batch", max: bidding.Vec{bidding.CPU: 2000}},
		{name: "bad class", labels: map[string]string{"allot.service": "web", "allot.class": "gold"}, ok: true, wantErr: "allot.class"},
		{name: "empty class", labels: map[string]string{"allot.service": "web", "allot.class": ""}, ok: true, wantErr: "allot.class"},
		{name: "bad cpu", labels: map[string]string{"allot.service": "web", "allot.min.cpu": "lots"}, ok: true, wantErr: "allot.min.cpu"},
		{name: "negative cpu", labels: map[string]string{"allot.service": "web", "allot.max.cpu": "-1"}, ok: true, wantErr: "allot.max.cpu"},
		{name: "bad memory", labels: map[string]string{"allot.service": "web", "allot.max.memory": "12 parsecs"}, ok: true, wantErr: "allot.max.memory"},
		{name: "memory exponent", labels: map[string]string{"allot.service": "web", "allot.min.memory": "1e9"}, ok: true, wantErr: "allot.min.memory"},
		{name: "min above max", labels: map[string]string{"allot.service": "web", "allot.min.cpu": "2", "allot.max.cpu": "1"}, ok: true, wantErr: "allot.*"},
		{name: "bad name", labels: map[string]string{"allot.service": "-web"}, ok: true, wantErr: "allot.service"},
		{name: "empty name", labels: map[string]string{"allot.service": ""}, ok: true, wantErr: "allot.service"},
		{name: "bad interface", labels: map[string]string{"allot.service": "web", "allot.interface": "a/b"}, ok: true, wantErr: "allot.interface"},
		{name: "long interface", labels: map[string]string{"allot.service": "web", "allot.interface": "abcdefghijklmnop"}, ok: true, wantErr: "allot.interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def, iface, ok, err := parseLabels(tc.labels)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if tc.wantErr != "" {
				var le *LabelError
				if !errors.As(err, &le) || le.Label != tc.wantErr {
					t.Fatalf("error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return
			}
			if def.Class != tc.class || def.Min != tc.min || def.Max != tc.max || iface != tc.iface {
				t.Fatalf("got %+v iface %q, want class %s min %v max %v iface %q", def, iface, tc.class, tc.min, tc.max, tc.iface)
			}
		})
	}
}

// FuzzLabels: container labels are outside input. The parser never
// panics, and whatever it accepts is a valid service definition.
func FuzzLabels(f *testing.F) {
	f.Add("web", "critical", "250m", "256MiB", "1.5", "1GiB", "eth0")
	f.Add("", "", "", "", "", "", "")
	f.Add("a", "batch", "-1", "1e9", "99999999999999999999", "1/2", "a b")
	f.Fuzz(func(t *testing.T, name, class, minCPU, minMem, maxCPU, maxMem, iface string) {
		labels := map[string]string{"allot.service": name}
		for k, v := range map[string]string{"allot.class": class, "allot.min.cpu": minCPU, "allot.min.memory": minMem,
			"allot.max.cpu": maxCPU, "allot.max.memory": maxMem, "allot.interface": iface} {
			if v != "" {
				labels[k] = v
			}
		}
		def, _, ok, err := parseLabels(labels)
		if !ok {
			t.Fatal("a container with allot.service was not recognised")
		}
		if err == nil {
			if verr := def.Validate(); verr != nil {
				t.Fatalf("accepted an invalid definition %+v: %v", def, verr)
			}
			if def.Name != name {
				t.Fatalf("name %q became %q", name, def.Name)
			}
		}
	})
}

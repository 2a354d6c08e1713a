package bidding

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSLASpecDefaults(t *testing.T) {
	var nilSpec *SLASpec
	if nilSpec.Factor() != 2 || nilSpec.TTLEpochs() != 3 || nilSpec.Latency() != 0 {
		t.Fatal("nil spec defaults")
	}
	s := &SLASpec{BoostFactor: 4, BoostEpochs: 9, LatencyP99Above: "300ms"}
	if s.Factor() != 4 || s.TTLEpochs() != 9 || s.Latency().String() != "300ms" {
		t.Fatalf("%+v", s)
	}
}

// Validate stays what the FSM replays; ValidateNew adds the sla rules.
func TestValidateNewOnlyAtTheFrontDoor(t *testing.T) {
	s := Service{Name: "web", Class: ClassStandard, SLA: &SLASpec{Probe: "http://169.254.169.254/", LatencyP99Above: "1s"}}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate (replay) refuses a stored spec: %v", err)
	}
	if err := s.ValidateNew(); err == nil || !strings.HasPrefix(err.Error(), "sla.probe: ") {
		t.Fatalf("ValidateNew: %v", err)
	}
}

func FuzzProbeURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/stats", "https://svc.internal/health", "http://169.254.169.254/",
		"http://[fe80::1%25eth0]/", "http://[::ffff:a9fe:a9fe]/", "http://0251.0376.0251.0376/", "http://0xa9fea9fe/",
		"http://u:p@h/", "ftp://h/", "http:h", "//h/x", "http://h:0/", "http://metadata.google.internal./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseProbeURL(raw)
		if err != nil {
			if u != nil {
				t.Fatal("URL with an error")
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("%q accepted as %#v", raw, u)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && (ForbiddenProbeAddr(a) != "" || a.Zone() != "") {
			t.Fatalf("%q accepted with address %s", raw, a)
		}
		if numericHost(u.Hostname()) {
			if _, err := netip.ParseAddr(u.Hostname()); err != nil {
				t.Fatalf("%q accepted with numeric host %q", raw, u.Hostname())
			}
		}
		// A spec with it validates, and the error-free path does not panic.
		s := SLASpec{Probe: raw, LatencyP99Above: "1s"}
		if err := s.Validate(); err != nil {
			t.Fatalf("%q: ParseProbeURL ok but Validate: %v", raw, err)
		}
	})
}

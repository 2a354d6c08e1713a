package bidding

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/forecast"
)

// Bounds of a service definition's free-text fields, checked where a
// definition enters the system (ValidateNew: config files and
// PUT /v1/service alike), before the field is echoed in any error.
const (
	MaxCgroupLen        = 255
	MaxInterfaceLen     = 15 // Linux IFNAMSIZ - 1
	MaxFieldLen         = 1024
	MaxForecastInterval = 24 * time.Hour
)

// checkNewFields validates the string fields of a new service definition:
// cgroup, interface, forecast model and interval, and the lengths of the
// SLA strings (SLASpec.Validate checks their content).
func (s *Service) checkNewFields() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"cgroup", s.Cgroup, MaxCgroupLen},
		{"interface", s.Interface, MaxInterfaceLen},
		{"forecast.model", fc(s).Model, MaxNameLen},
		{"forecast.interval", fc(s).Interval, 32},
		{"sla.probe", sla(s).Probe, MaxFieldLen},
		{"sla.metric", sla(s).Metric, MaxFieldLen},
		{"sla.latency_p99_above", sla(s).LatencyP99Above, 32},
	} {
		if len(f.v) > f.max {
			return fmt.Errorf("%s: %d characters, at most %d", f.name, len(f.v), f.max)
		}
	}
	if s.Cgroup != "" {
		if err := checkCgroup(s.Cgroup); err != nil {
			return fmt.Errorf("cgroup: %q %w", s.Cgroup, err)
		}
	}
	if s.Interface != "" {
		if err := checkInterface(s.Interface); err != nil {
			return fmt.Errorf("interface: %q %w", s.Interface, err)
		}
	}
	if s.Forecast != nil {
		if m := s.Forecast.Model; m != "" && !slices.Contains(forecast.ModelNames(), m) {
			return fmt.Errorf("forecast.model: %q is not a model (one of %s)", m, strings.Join(forecast.ModelNames(), ", "))
		}
		if iv := s.Forecast.Interval; iv != "" {
			d, err := time.ParseDuration(iv)
			if err != nil {
				return fmt.Errorf("forecast.interval: %q is not a duration (e.g. 5m)", iv)
			}
			if d <= 0 || d > MaxForecastInterval {
				return fmt.Errorf("forecast.interval: %s is outside (0, %s]", iv, MaxForecastInterval)
			}
		}
	}
	return nil
}

func fc(s *Service) ForecastSpec {
	if s.Forecast == nil {
		return ForecastSpec{}
	}
	return *s.Forecast
}

func sla(s *Service) SLASpec {
	if s.SLA == nil {
		return SLASpec{}
	}
	return *s.SLA
}

// checkCgroup accepts a cgroup path below the client's cgroup parent:
// '/'-separated names of [A-Za-z0-9._@:+=-], none "." or "..".
func checkCgroup(p string) error {
	for _, el := range strings.Split(strings.Trim(p, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("is not a path of cgroup names below the cgroup parent (no empty, \".\" or \"..\" parts)")
		}
		for _, c := range el {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._@:+=-", c)) {
				return fmt.Errorf("has a character outside [A-Za-z0-9._@:+=-] in a path part")
			}
		}
	}
	return nil
}

// checkInterface accepts a Linux network interface name.
func checkInterface(n string) error {
	if n == "." || n == ".." {
		return fmt.Errorf("is not an interface name")
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._@-", c)) {
			return fmt.Errorf("has a character outside [A-Za-z0-9._@-] (a Linux interface name)")
		}
	}
	return nil
}

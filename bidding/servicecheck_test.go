package bidding

import (
	"strings"
	"testing"
)

func TestServiceFieldChecks(t *testing.T) {
	ok := []Service{
		{Name: "a", Class: ClassStandard, Cgroup: "system.slice/web.service", Interface: "eth0"},
		{Name: "a", Class: ClassStandard, Cgroup: "/docker/abc:1", Interface: "veth1a2b@if3", Forecast: &ForecastSpec{Model: "auto", Interval: "5m"}},
	}
	for _, s := range ok {
		if err := s.ValidateNew(); err != nil {
			t.Errorf("%+v refused: %v", s, err)
		}
	}
	bad := map[string]Service{
		"cgroup":            {Cgroup: "a/../b"},
		"cgroup ":           {Cgroup: "a b"},
		"cgroup  ":          {Cgroup: strings.Repeat("x", MaxCgroupLen+1)},
		"interface":         {Interface: "eth0;x"},
		"interface ":        {Interface: "a/b"},
		"interface  ":       {Interface: strings.Repeat("e", 16)},
		"forecast.model":    {Forecast: &ForecastSpec{Model: "nope"}},
		"forecast.interval": {Forecast: &ForecastSpec{Interval: "-5m"}},
		"sla.probe":         {SLA: &SLASpec{Probe: "http://x/" + strings.Repeat("p", MaxFieldLen)}},
	}
	for want, s := range bad {
		s.Name, s.Class = "a", ClassStandard
		err := s.ValidateNew()
		if err == nil || !strings.HasPrefix(err.Error(), strings.TrimSpace(want)) || len(err.Error()) > 400 {
			t.Errorf("%s: error %v", want, err)
		}
	}
}

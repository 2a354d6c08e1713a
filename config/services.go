package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Quantities is a block of per-resource quantities in a config, service or
// scenario file: { cpu = "250m"  memory = "256MiB"  io = "200MiB/s"  net = "500Mbit" }.
type Quantities struct {
	CPU    *string `hcl:"cpu,optional"`
	Memory *string `hcl:"memory,optional"`
	IO     *string `hcl:"io,optional"`
	Net    *string `hcl:"net,optional"`
}

type serviceBlock struct {
	Name      string      `hcl:"name,label"`
	Class     *string     `hcl:"class,optional"`
	Weight    *float64    `hcl:"weight,optional"`
	Cgroup    *string     `hcl:"cgroup,optional"`
	Interface *string     `hcl:"interface,optional"`
	Min       *Quantities `hcl:"min,block"`
	Max       *Quantities `hcl:"max,block"`
	Forecast  *struct {
		Model      *string  `hcl:"model,optional"`
		Horizon    *int     `hcl:"horizon,optional"`
		Interval   *string  `hcl:"interval,optional"`
		Regressors []string `hcl:"regressors,optional"`
	} `hcl:"forecast,block"`
	SLA *struct {
		ErrorRateAbove  *float64 `hcl:"error_rate_above,optional"`
		LatencyP99Above *string  `hcl:"latency_p99_above,optional"`
		Probe           *string  `hcl:"probe,optional"`
		Metric          *string  `hcl:"metric,optional"`
		MetricAbove     *float64 `hcl:"metric_above,optional"`
		BoostFactor     *float64 `hcl:"boost_factor,optional"`
		BoostEpochs     *int     `hcl:"boost_epochs,optional"`
	} `hcl:"sla,block"`
}

// ParseServiceFile reads a service definition file (HCL `service "name" {…}`
// blocks, or the JSON form) and returns the validated services.
func ParseServiceFile(path string) ([]bidding.Service, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading service file: %w", err)
	}
	return ParseServices(path, b)
}

// ParseServices parses service blocks from bytes named name.
func ParseServices(name string, src []byte) ([]bidding.Service, error) {
	var c Config
	if err := c.mergeSource(name, src); err != nil {
		return nil, err
	}
	if len(c.Services) == 0 {
		return nil, errf("%s: no service block found (expected service \"NAME\" { … })", name)
	}
	for _, s := range c.Services {
		if err := s.ValidateNew(); err != nil {
			return nil, errf("service %q in %s: %v", s.Name, name, err)
		}
	}
	return c.Services, nil
}

func (sb serviceBlock) toService(file string) (bidding.Service, error) {
	s := bidding.Service{Name: sb.Name, Class: bidding.ClassStandard}
	if sb.Class != nil {
		s.Class = bidding.Class(*sb.Class)
	}
	if sb.Weight != nil {
		s.Weight = *sb.Weight
	}
	if sb.Cgroup != nil {
		s.Cgroup = *sb.Cgroup
	}
	if sb.Interface != nil {
		s.Interface = *sb.Interface
	}
	var err error
	if s.Min, err = sb.Min.Vec(fmt.Sprintf("service %q min in %s", sb.Name, file)); err != nil {
		return s, err
	}
	if s.Max, err = sb.Max.Vec(fmt.Sprintf("service %q max in %s", sb.Name, file)); err != nil {
		return s, err
	}
	if sb.Forecast != nil {
		s.Forecast = &bidding.ForecastSpec{}
		if sb.Forecast.Model != nil {
			s.Forecast.Model = *sb.Forecast.Model
		}
		if sb.Forecast.Horizon != nil {
			s.Forecast.Horizon = *sb.Forecast.Horizon
		}
		if sb.Forecast.Interval != nil {
			s.Forecast.Interval = *sb.Forecast.Interval // checked by ValidateNew
		}
		s.Forecast.Regressors = sb.Forecast.Regressors
	}
	if sb.SLA != nil {
		s.SLA = &bidding.SLASpec{}
		if sb.SLA.ErrorRateAbove != nil {
			s.SLA.ErrorRateAbove = *sb.SLA.ErrorRateAbove
		}
		if sb.SLA.LatencyP99Above != nil {
			if _, err := time.ParseDuration(*sb.SLA.LatencyP99Above); err != nil {
				return s, errf("service %q sla.latency_p99_above in %s: %q is not a duration", sb.Name, file, *sb.SLA.LatencyP99Above)
			}
			s.SLA.LatencyP99Above = *sb.SLA.LatencyP99Above
		}
		if sb.SLA.Probe != nil {
			s.SLA.Probe = *sb.SLA.Probe
		}
		if sb.SLA.Metric != nil {
			s.SLA.Metric = *sb.SLA.Metric
		}
		if sb.SLA.MetricAbove != nil {
			s.SLA.MetricAbove = *sb.SLA.MetricAbove
		}
		if sb.SLA.BoostFactor != nil {
			if *sb.SLA.BoostFactor == 0 {
				return s, errf("service %q sla.boost_factor in %s: 0 is outside [1, %v] (leave it out for the default %v)", sb.Name, file, bidding.MaxBoost, bidding.DefaultSLABoostFactor)
			}
			s.SLA.BoostFactor = *sb.SLA.BoostFactor
		}
		if sb.SLA.BoostEpochs != nil {
			if n := *sb.SLA.BoostEpochs; n < 1 || uint64(n) > bidding.MaxSLABoostEpochs {
				return s, errf("service %q sla.boost_epochs in %s: %d is outside [1, %d] (leave it out for the default %d)", sb.Name, file, n, bidding.MaxSLABoostEpochs, bidding.DefaultSLABoostEpochs)
			}
			s.SLA.BoostEpochs = uint64(*sb.SLA.BoostEpochs)
		}
		if err := s.SLA.Validate(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			return s, errf("service %q %s in %s: %s", sb.Name, key, file, msg)
		}
	}
	return s, nil
}

// Vec parses the block into base units; where prefixes error messages.
func (q *Quantities) Vec(where string) (bidding.Vec, error) {
	var v bidding.Vec
	if q == nil {
		return v, nil
	}
	for r, p := range map[bidding.Resource]*string{bidding.CPU: q.CPU, bidding.Memory: q.Memory, bidding.IO: q.IO, bidding.Net: q.Net} {
		if p == nil {
			continue
		}
		n, err := ParseQuantity(r, *p)
		if err != nil {
			return v, errf("%s: %s: %v", where, r, err)
		}
		v[r] = n
	}
	return v, nil
}

package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
)

// scenarioFile is the HCL (or JSON) form of a Scenario; see
// sim/testdata/example.hcl.
type scenarioFile struct {
	Name       *string       `hcl:"name,optional"`
	Epoch      *string       `hcl:"epoch,optional"`
	Days       *float64      `hcl:"days,optional"`
	WarmupDays *float64      `hcl:"warmup_days,optional"`
	Contention []float64     `hcl:"contention,optional"`
	TraceDir   *string       `hcl:"trace_dir,optional"`
	SLAProbes  *bool         `hcl:"sla_probes,optional"`
	Nodes      []string      `hcl:"nodes"`
	Capacity   []capBlock    `hcl:"capacity,block"`
	Services   []svcBlock    `hcl:"service,block"`
	Breaches   []breachBlock `hcl:"breach,block"`
}

// capBlock fixes a node's capacity (resources it names; the others come
// from the contention level).
type capBlock struct {
	Node   string  `hcl:"node,label"`
	CPU    *string `hcl:"cpu,optional"`
	Memory *string `hcl:"memory,optional"`
	IO     *string `hcl:"io,optional"`
	Net    *string `hcl:"net,optional"`
}

type svcBlock struct {
	Name   string             `hcl:"name,label"`
	Class  *string            `hcl:"class,optional"`
	Weight *float64           `hcl:"weight,optional"`
	Node   string             `hcl:"node"`
	Min    *config.Quantities `hcl:"min,block"`
	Series []seriesBlock      `hcl:"series,block"`
}

type seriesBlock struct {
	Resource string   `hcl:"resource,label"`
	File     string   `hcl:"file"`
	Column   *string  `hcl:"column,optional"`
	Scale    *float64 `hcl:"scale,optional"`
	P95      *string  `hcl:"p95,optional"`
	Offset   *int     `hcl:"offset,optional"`
}

type breachBlock struct {
	Service  string  `hcl:"service"`
	Start    string  `hcl:"start"`
	Duration string  `hcl:"duration"`
	Factor   float64 `hcl:"factor"`
}

// LoadScenarioFile reads a scenario file (HCL, or its JSON form by a .json
// extension). Series files are found relative to trace_dir, else traceDir
// (--trace), else the scenario file's directory.
func LoadScenarioFile(path, traceDir string) (*Scenario, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	var sf scenarioFile
	if err := config.DecodeFile(path, src, &sf); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	base := filepath.Dir(path)
	if traceDir != "" {
		base = traceDir
	}
	if sf.TraceDir != nil {
		base = *sf.TraceDir
		if !filepath.IsAbs(base) {
			base = filepath.Join(filepath.Dir(path), base)
		}
	}
	return sf.scenario(path, base)
}

func (sf *scenarioFile) scenario(path, base string) (*Scenario, error) {
	sc := &Scenario{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), Epoch: 5 * time.Minute, Days: 7, WarmupDays: 2, Contention: sf.Contention, Nodes: sf.Nodes}
	if sf.Name != nil {
		sc.Name = *sf.Name
	}
	sc.SLAProbes = sf.SLAProbes == nil || *sf.SLAProbes
	if sf.Epoch != nil {
		d, err := time.ParseDuration(*sf.Epoch)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("scenario %s: epoch: %q is not a positive duration", path, *sf.Epoch)
		}
		sc.Epoch = d
	}
	if sf.Days != nil {
		sc.Days = *sf.Days
	}
	if sf.WarmupDays != nil {
		sc.WarmupDays = *sf.WarmupDays
	}
	for _, c := range sc.Contention {
		if c <= 0 {
			return nil, fmt.Errorf("scenario %s: contention: %v is not positive", path, c)
		}
	}
	for _, cb := range sf.Capacity {
		if !slices.Contains(sc.Nodes, cb.Node) {
			return nil, fmt.Errorf("scenario %s: capacity %q: not one of the nodes %v", path, cb.Node, sc.Nodes)
		}
		q := config.Quantities{CPU: cb.CPU, Memory: cb.Memory, IO: cb.IO, Net: cb.Net}
		v, err := q.Vec(fmt.Sprintf("scenario %s: capacity %q", path, cb.Node))
		if err != nil {
			return nil, err
		}
		if sc.Capacity == nil {
			sc.Capacity = map[string]bidding.Vec{}
		}
		sc.Capacity[cb.Node] = v
	}
	cache := map[string][]*Series{}
	for _, sb := range sf.Services {
		sp, err := sb.spec(base, sc.Epoch, cache)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: service %q: %w", path, sb.Name, err)
		}
		sc.Services = append(sc.Services, sp)
	}
	for i, bb := range sf.Breaches {
		start, err1 := time.ParseDuration(bb.Start)
		dur, err2 := time.ParseDuration(bb.Duration)
		if err1 != nil || err2 != nil || start < 0 || dur <= 0 {
			return nil, fmt.Errorf("scenario %s: breach %d: start %q and duration %q must be durations (start ≥ 0, duration > 0)", path, i+1, bb.Start, bb.Duration)
		}
		sc.Breaches = append(sc.Breaches, Breach{Service: bb.Service, Start: int(start / sc.Epoch), Epochs: max(1, int(dur/sc.Epoch)), Factor: bb.Factor})
	}
	return sc, nil
}

func (sb svcBlock) spec(base string, epoch time.Duration, cache map[string][]*Series) (ServiceSpec, error) {
	sp := ServiceSpec{Name: sb.Name, Class: bidding.ClassStandard, Node: sb.Node}
	if sb.Class != nil {
		sp.Class = bidding.Class(*sb.Class)
	}
	if sb.Weight != nil {
		sp.Weight = *sb.Weight
	}
	if sb.Min != nil {
		v, err := sb.Min.Vec("min")
		if err != nil {
			return sp, err
		}
		sp.Min = v
	}
	if len(sb.Series) == 0 {
		return sp, fmt.Errorf("no series block (expected series \"cpu\" { file = … })")
	}
	for _, b := range sb.Series {
		r, err := bidding.ParseResource(b.Resource)
		if err != nil {
			return sp, fmt.Errorf("series %q: %w", b.Resource, err)
		}
		if sp.Series[r] != nil {
			return sp, fmt.Errorf("series %q appears twice", b.Resource)
		}
		ss, err := b.spec(base, epoch, r, cache)
		if err != nil {
			return sp, fmt.Errorf("series %q: %w", b.Resource, err)
		}
		sp.Series[r] = ss
	}
	return sp, nil
}

func (b seriesBlock) spec(base string, epoch time.Duration, r bidding.Resource, cache map[string][]*Series) (*SeriesSpec, error) {
	p := b.File
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	all, ok := cache[p]
	if !ok {
		var err error
		if all, err = loadCSV(p, b.File, epoch); err != nil {
			return nil, fmt.Errorf("file %s: %w", p, err)
		}
		cache[p] = all
	}
	var s *Series
	switch {
	case b.Column != nil:
		for _, x := range all {
			if x.Column == *b.Column {
				s = x
			}
		}
		if s == nil {
			return nil, fmt.Errorf("file %s has no numeric column or row %q", b.File, *b.Column)
		}
	case len(all) == 1:
		s = all[0]
	default:
		return nil, fmt.Errorf("file %s has %d series: name one with column = \"…\"", b.File, len(all))
	}
	ss := &SeriesSpec{Series: s}
	if b.Offset != nil {
		ss.Offset = *b.Offset
	}
	switch {
	case b.Scale != nil && b.P95 != nil:
		return nil, fmt.Errorf("set scale or p95, not both")
	case b.Scale != nil:
		if *b.Scale <= 0 {
			return nil, fmt.Errorf("scale: %v is not positive", *b.Scale)
		}
		ss.Scale = *b.Scale
	case b.P95 != nil:
		v, err := config.ParseQuantity(r, *b.P95)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("p95: %q is not a positive %s quantity", *b.P95, r)
		}
		ss.P95 = float64(v)
	default:
		return nil, fmt.Errorf("scale (trace unit → base units) or p95 (a %s quantity) is required", r)
	}
	return ss, nil
}

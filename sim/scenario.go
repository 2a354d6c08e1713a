package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Scenario describes a cluster to replay: nodes, services with one real
// series per resource, contention levels and injected SLA breaches. It is
// built from a trace directory (DefaultScenario) or read from a file
// (LoadScenarioFile).
type Scenario struct {
	Name       string
	Epoch      time.Duration
	Days       float64 // evaluated days
	WarmupDays float64 // history observed before the evaluated window
	Contention []float64
	Nodes      []string
	// Capacity fixes nodes' capacities per resource (a resource left 0
	// comes from the contention level).
	Capacity map[string]bidding.Vec
	// SLAProbes gives every service an SLA probe (served below 90% of its
	// demand is a breach) beside the kernel's signals, which every client
	// watches.
	SLAProbes bool
	Services  []ServiceSpec
	Breaches  []Breach
}

// ServiceSpec is one service of a scenario.
type ServiceSpec struct {
	Name   string
	Class  bidding.Class
	Weight float64
	Node   string
	Min    bidding.Vec
	Series [bidding.NumResources]*SeriesSpec
}

// SeriesSpec ties a real series to one resource of a service. The series is
// multiplied by Scale; when Scale is 0 it is scaled so that its 95th
// percentile over the evaluated window is P95 (base units).
type SeriesSpec struct {
	Series *Series
	Offset int // steps (at the scenario's epoch) skipped at the start of the series
	Scale  float64
	P95    float64
}

// Breach is an injected SLA breach: the service's demand (every resource
// but memory) is multiplied by Factor for Epochs epochs from Start (epochs
// into the evaluated window).
type Breach struct {
	Service string
	Start   int
	Epochs  int
	Factor  float64
}

// DefaultOptions of a generated scenario.
type GenOptions struct {
	Services int
	Nodes    int
	Days     float64
	Warmup   float64
	Seed     uint64
	Breaches int
	Epoch    time.Duration
	// UpTo takes at most Services services (as many as the traces offer)
	// instead of failing when there are fewer, and at most one node per
	// service.
	UpTo bool
}

// typical 95th-percentile sizes (base units) per resource: services are
// sized log-uniformly between lo and hi.
var sizeRange = [bidding.NumResources][2]float64{
	bidding.CPU:    {500, 4000},
	bidding.Memory: {512 << 20, 8 << 30},
	bidding.IO:     {10 << 20, 100 << 20},
	bidding.Net:    {50e6, 500e6},
}

// candidate is a group of series from one file with distinct resources.
type candidate struct {
	file   string
	series [bidding.NumResources]*Series
}

// DefaultScenario assigns real series to services: series long enough for
// warmup+days are grouped per file (one service per group of distinct
// resources), files are visited round-robin in a seeded order so that every
// source contributes, services lacking memory get an unused series as their
// memory shape, classes are drawn 1:2:1 (critical:standard:batch), sizes
// log-uniformly (sizeRange), and services are packed onto nodes by
// largest-first balancing of cpu.
func DefaultScenario(all []*Series, o GenOptions) (*Scenario, error) {
	need := int(math.Ceil((o.Days + o.Warmup) * float64(24*time.Hour) / float64(o.Epoch)))
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	byFile := map[string][]*candidate{}
	var files []string
	var spare []*Series
	for _, s := range all {
		if len(regrid(s.Values, s.Step, o.Epoch)) < need {
			continue
		}
		// A flat series (an idle disk, a constant memory) is a workload
		// like any other: it joins its file's service; it is only not
		// used as a borrowed memory shape (below).
		cs := byFile[s.File]
		if len(cs) == 0 {
			files = append(files, s.File)
		}
		var c *candidate
		for _, x := range cs {
			if x.series[s.Resource] == nil {
				c = x
				break
			}
		}
		if c == nil {
			c = &candidate{file: s.File}
			byFile[s.File] = append(cs, c)
		}
		c.series[s.Resource] = s
	}
	sort.Strings(files)
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	for _, f := range files {
		cs := byFile[f]
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	}
	var picked []*candidate
	for round := 0; len(picked) < o.Services; round++ {
		added := false
		for _, f := range files {
			if len(picked) == o.Services {
				break
			}
			if cs := byFile[f]; round < len(cs) {
				picked = append(picked, cs[round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	if len(picked) < o.Services && o.UpTo && len(picked) > 0 {
		o.Services = len(picked)
		o.Nodes = min(o.Nodes, o.Services)
	}
	if len(picked) < o.Services {
		return nil, fmt.Errorf("default scenario: %d services wanted, only %d usable series groups of at least %d epochs (lower --services, --days or --warmup, or add traces)", o.Services, len(picked), need)
	}
	used := map[*Series]bool{}
	for _, c := range picked {
		for _, s := range c.series {
			if s != nil {
				used[s] = true
			}
		}
	}
	for _, f := range files {
		for _, c := range byFile[f] {
			for _, s := range c.series {
				if s != nil && !used[s] && !flat(s.Values) {
					spare = append(spare, s)
				}
			}
		}
	}
	sc := &Scenario{Name: fmt.Sprintf("default-%dsvc-%dnodes-seed%d", o.Services, o.Nodes, o.Seed), Epoch: o.Epoch, Days: o.Days, WarmupDays: o.Warmup, SLAProbes: true}
	for i := range o.Nodes {
		sc.Nodes = append(sc.Nodes, fmt.Sprintf("node-%d", i+1))
	}
	classes := []bidding.Class{bidding.ClassCritical, bidding.ClassStandard, bidding.ClassStandard, bidding.ClassBatch}
	rng.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	for i, c := range picked {
		sp := ServiceSpec{Name: fmt.Sprintf("svc-%02d", i+1), Class: classes[i%len(classes)]}
		for r, s := range c.series {
			if s != nil {
				sp.Series[r] = &SeriesSpec{Series: s, Offset: rng.IntN(1 + len(regrid(s.Values, s.Step, o.Epoch)) - need)}
			}
		}
		if sp.Series[bidding.Memory] == nil && len(spare) > 0 {
			s := spare[rng.IntN(len(spare))]
			sp.Series[bidding.Memory] = &SeriesSpec{Series: s, Offset: rng.IntN(1 + len(regrid(s.Values, s.Step, o.Epoch)) - need)}
		}
		for r, ss := range sp.Series {
			if ss != nil {
				lo, hi := sizeRange[r][0], sizeRange[r][1]
				ss.P95 = lo * math.Pow(hi/lo, rng.Float64())
			}
		}
		sc.Services = append(sc.Services, sp)
	}
	packNodes(sc)
	sc.Breaches = genBreaches(sc, o.Breaches, rng)
	return sc, nil
}

// flat reports a series without variation (useless as a workload shape).
func flat(v []float64) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

// packNodes places each service (largest cpu first) on the node with the
// least cpu so far.
func packNodes(sc *Scenario) {
	idx := make([]int, len(sc.Services))
	for i := range idx {
		idx[i] = i
	}
	size := func(i int) float64 {
		if s := sc.Services[i].Series[bidding.CPU]; s != nil {
			return s.P95
		}
		return 0
	}
	sort.SliceStable(idx, func(a, b int) bool { return size(idx[a]) > size(idx[b]) })
	load := make([]float64, len(sc.Nodes))
	count := make([]int, len(sc.Nodes))
	for _, i := range idx {
		best := 0
		for n := range load {
			if load[n] < load[best] || load[n] == load[best] && count[n] < count[best] {
				best = n
			}
		}
		load[best] += size(i)
		count[best]++
		sc.Services[i].Node = sc.Nodes[best]
	}
}

// genBreaches injects n SLA breaches on critical and standard services: a
// 1.5–2× surge for 1–3 hours, spread over the evaluated window.
func genBreaches(sc *Scenario, n int, rng *rand.Rand) []Breach {
	var eligible []string
	for _, s := range sc.Services {
		if s.Class != bidding.ClassBatch {
			eligible = append(eligible, s.Name)
		}
	}
	steps := int(sc.Days * float64(24*time.Hour) / float64(sc.Epoch))
	perHour := int(time.Hour / sc.Epoch)
	if len(eligible) == 0 || steps < 4*perHour || n <= 0 {
		return nil
	}
	var out []Breach
	slot := steps / n
	for i := range n {
		l := perHour * (1 + rng.IntN(3))
		start := i*slot + rng.IntN(max(1, slot-l))
		out = append(out, Breach{Service: eligible[rng.IntN(len(eligible))], Start: start, Epochs: l, Factor: 1.5 + rng.Float64()/2})
	}
	return out
}

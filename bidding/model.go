// Package bidding holds Allot's allocation model (services, bids, boosts,
// node capacities, plans), its validation, and the solver that turns the
// bids in force at an epoch into a plan. It depends on neither Raft nor HTTP.
package bidding

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Resource is one of the four allocated resources.
type Resource int

// The allocated resources, in their canonical order.
const (
	CPU          Resource = iota // millicores
	Memory                       // bytes
	IO                           // bytes/s
	Net                          // bits/s
	NumResources = 4
)

var resourceNames = [NumResources]string{"cpu", "memory", "io", "net"}

// String returns the resource's wire name.
func (r Resource) String() string {
	if r < 0 || int(r) >= NumResources {
		return fmt.Sprintf("resource(%d)", int(r))
	}
	return resourceNames[r]
}

// ParseResource maps a wire name ("cpu", "memory", "io", "net") to a Resource.
func ParseResource(s string) (Resource, error) {
	for i, n := range resourceNames {
		if n == s {
			return Resource(i), nil
		}
	}
	return 0, fmt.Errorf("unknown resource %q (allowed: cpu, memory, io, net)", s)
}

// resourceNamesSorted are the resource names in sorted order.
var resourceNamesSorted = []string{"cpu", "io", "memory", "net"}

// sortedResourceKeys is slices.Sorted(maps.Keys(m)) without the sort when
// every key is a resource name (what every valid bid has): validating a bid
// sorted its resource names twice, a measurable part of ingest.
func sortedResourceKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for _, k := range resourceNamesSorted {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	if len(out) == len(m) {
		return out
	}
	return slices.Sorted(maps.Keys(m))
}

// Resources lists all resources in canonical order.
func Resources() []Resource { return []Resource{CPU, Memory, IO, Net} }

// Vec is a quantity per resource in integer base units (millicores, bytes,
// bytes/s, bits/s). It marshals as {"cpu":…,"memory":…,"io":…,"net":…}.
type Vec [NumResources]int64

// MarshalJSON writes the vector as an object keyed by resource name.
func (v Vec) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"cpu":%d,"memory":%d,"io":%d,"net":%d}`, v[CPU], v[Memory], v[IO], v[Net])), nil
}

// UnmarshalJSON reads an object keyed by resource name; unknown keys are errors.
func (v *Vec) UnmarshalJSON(b []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*v = Vec{}
	for k, x := range m {
		r, err := ParseResource(k)
		if err != nil {
			return err
		}
		v[r] = x
	}
	return nil
}

// Class is a service's criticality class.
type Class string

// The classes and their default weights.
const (
	ClassCritical Class = "critical"
	ClassStandard Class = "standard"
	ClassBatch    Class = "batch"
)

// ClassWeight returns the default weight of a class, or an error for an unknown one.
func ClassWeight(c Class) (float64, error) {
	switch c {
	case ClassCritical:
		return 8, nil
	case ClassStandard, "":
		return 4, nil
	case ClassBatch:
		return 1, nil
	}
	return 0, fmt.Errorf("unknown class %q (allowed: critical, standard, batch)", string(c))
}

// Limits of accepted values, to keep arithmetic far from overflow.
const (
	MaxQuantity = int64(1) << 53 // largest base-unit quantity accepted anywhere
	MaxWeight   = 1000.0
	MaxBoost    = 10.0
	MaxNameLen  = 128
)

// validName reports whether s matches ^[A-Za-z0-9][A-Za-z0-9._-]*$ (a
// byte loop: names are checked once per bid on the solver's path).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return len(s) > 0
}

// ValidateName checks a service or node name.
func ValidateName(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s: must not be empty", field)
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("%s: %q… is %d characters, longer than %d", field, s[:32], len(s), MaxNameLen)
	}
	if !validName(s) {
		return fmt.Errorf("%s: %q has characters outside [A-Za-z0-9._-] or does not start with a letter or digit", field, s)
	}
	return nil
}

// MaxForecastRegressors bounds the regressors one service's forecast names.
const MaxForecastRegressors = 16

// ForecastSpec is how a client forecasts a service.
type ForecastSpec struct {
	Model    string `json:"model,omitempty"`
	Horizon  int    `json:"horizon,omitempty"`
	Interval string `json:"interval,omitempty"`
	// Regressors names external regressors (PUT /v1/regressors) the
	// client feeds into this service's forecasts.
	Regressors []string `json:"regressors,omitempty"`
}

// SLASpec is what makes a client boost a service on its own (see
// client/sla). With Metric set, Probe is a Prometheus text-format metrics
// URL and a breach is the metric above MetricAbove; otherwise Probe is an
// HTTP endpoint and a breach is its p99 latency above LatencyP99Above or
// its error rate above ErrorRateAbove (0 / "": that check is off).
// BoostFactor and BoostEpochs (0: DefaultSLABoostFactor,
// DefaultSLABoostEpochs) size the boost a breach raises, also for kernel
// pressure, which needs no sla block at all. Validate has the rules.
type SLASpec struct {
	ErrorRateAbove  float64 `json:"error_rate_above,omitempty"`
	LatencyP99Above string  `json:"latency_p99_above,omitempty"`
	Probe           string  `json:"probe,omitempty"`
	Metric          string  `json:"metric,omitempty"`
	MetricAbove     float64 `json:"metric_above,omitempty"`
	BoostFactor     float64 `json:"boost_factor,omitempty"`
	BoostEpochs     uint64  `json:"boost_epochs,omitempty"`
}

// Service is a registered service.
type Service struct {
	Name      string        `json:"name"`
	Class     Class         `json:"class"`
	Weight    float64       `json:"weight,omitempty"` // 0: the class weight
	Cgroup    string        `json:"cgroup,omitempty"`
	Interface string        `json:"interface,omitempty"`
	Min       Vec           `json:"min"`
	Max       Vec           `json:"max"` // 0 for a resource: no cap of its own
	Forecast  *ForecastSpec `json:"forecast,omitempty"`
	SLA       *SLASpec      `json:"sla,omitempty"`
}

// EffectiveWeight is the explicit weight if set, else the class weight.
func (s *Service) EffectiveWeight() float64 {
	if s.Weight > 0 {
		return s.Weight
	}
	w, err := ClassWeight(s.Class)
	if err != nil {
		return 4
	}
	return w
}

// Validate checks a service definition; the error names the field.
func (s *Service) Validate() error {
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	if _, err := ClassWeight(s.Class); err != nil {
		return fmt.Errorf("class: %w", err)
	}
	if math.IsNaN(s.Weight) || math.IsInf(s.Weight, 0) || s.Weight < 0 || s.Weight > MaxWeight {
		return fmt.Errorf("weight: %v is not a number in [0, %v]", s.Weight, MaxWeight)
	}
	for _, r := range Resources() {
		if s.Min[r] < 0 || s.Min[r] > MaxQuantity {
			return fmt.Errorf("min.%s: %d is outside [0, %d]", r, s.Min[r], MaxQuantity)
		}
		if s.Max[r] < 0 || s.Max[r] > MaxQuantity {
			return fmt.Errorf("max.%s: %d is outside [0, %d]", r, s.Max[r], MaxQuantity)
		}
		if s.Max[r] > 0 && s.Min[r] > s.Max[r] {
			return fmt.Errorf("min.%s: %d is above max.%s %d", r, s.Min[r], r, s.Max[r])
		}
	}
	if s.Forecast != nil && (s.Forecast.Horizon < 0 || s.Forecast.Horizon > 10000) {
		return fmt.Errorf("forecast.horizon: %d is outside [0, 10000]", s.Forecast.Horizon)
	}
	if s.Forecast != nil {
		if len(s.Forecast.Regressors) > MaxForecastRegressors {
			return fmt.Errorf("forecast.regressors: %d names, at most %d", len(s.Forecast.Regressors), MaxForecastRegressors)
		}
		for i, r := range s.Forecast.Regressors {
			if err := ValidateName(fmt.Sprintf("forecast.regressors[%d]", i), r); err != nil {
				return err
			}
			if slices.Contains(s.Forecast.Regressors[:i], r) {
				return fmt.Errorf("forecast.regressors[%d]: %q appears twice", i, r)
			}
		}
	}
	if s.SLA != nil && (math.IsNaN(s.SLA.ErrorRateAbove) || s.SLA.ErrorRateAbove < 0 || s.SLA.ErrorRateAbove > 1) {
		return fmt.Errorf("sla.error_rate_above: %v is outside [0, 1]", s.SLA.ErrorRateAbove)
	}
	return nil
}

// ValidateNew is Validate plus the checks a definition must pass where it
// enters the system (config files, PUT /v1/service): today the whole sla
// block (SLASpec.Validate) and the bounds and content of the free-text
// fields (cgroup, interface, forecast model and interval). The FSM and the solver call Validate only, so
// tightening these rules never rejects a service already in the log (a
// replayed or mixed-version log must apply the same way everywhere).
func (s *Service) ValidateNew() error {
	if err := s.checkNewFields(); err != nil {
		return err // first: no error below echoes an unbounded field
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if s.SLA != nil {
		return s.SLA.Validate()
	}
	return nil
}

// Quantiles is a bid's forecast for one resource, in base units.
type Quantiles struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Min int64 `json:"min,omitempty"`
	Max int64 `json:"max,omitempty"` // 0: p99 is the most the bid asks for
}

// ForecastError is how good the forecast behind a bid has been.
type ForecastError struct {
	MASE        float64 `json:"mase,omitempty"`
	CoverageP90 float64 `json:"coverage_p90,omitempty"`
	CoverageP99 float64 `json:"coverage_p99,omitempty"`
}

// Bid is one service's forecast demand on one node for one epoch.
type Bid struct {
	Service       string                   `json:"service"`
	Node          string                   `json:"node"`
	Epoch         uint64                   `json:"epoch"`
	Resources     map[string]Quantiles     `json:"resources"`
	ForecastError map[string]ForecastError `json:"forecast_error,omitempty"`
}

// Key identifies the placement a bid is for.
func (b *Bid) Key() PlacementKey { return PlacementKey{Service: b.Service, Node: b.Node} }

// Validate checks a bid on its own (not against the registry); the error names the field.
func (b *Bid) Validate() error {
	if err := ValidateName("service", b.Service); err != nil {
		return err
	}
	if err := ValidateName("node", b.Node); err != nil {
		return err
	}
	if len(b.Resources) == 0 {
		return fmt.Errorf("resources: at least one of cpu, memory, io, net is required")
	}
	for _, name := range sortedResourceKeys(b.Resources) {
		q := b.Resources[name]
		if _, err := ParseResource(name); err != nil {
			return fmt.Errorf("resources.%s: %w", name, err)
		}
		f := "resources." + name
		for _, x := range []struct {
			n string
			v int64
		}{{"p50", q.P50}, {"p90", q.P90}, {"p99", q.P99}, {"min", q.Min}, {"max", q.Max}} {
			if x.v < 0 || x.v > MaxQuantity {
				return fmt.Errorf("%s.%s: %d is outside [0, %d]", f, x.n, x.v, MaxQuantity)
			}
		}
		if q.P50 > q.P90 {
			return fmt.Errorf("%s.p90: %d is below p50 %d (quantiles must be non-decreasing)", f, q.P90, q.P50)
		}
		if q.P90 > q.P99 {
			return fmt.Errorf("%s.p99: %d is below p90 %d (quantiles must be non-decreasing)", f, q.P99, q.P90)
		}
		if q.Max > 0 && q.Max < q.P99 {
			return fmt.Errorf("%s.max: %d is below p99 %d (quantiles must be non-decreasing)", f, q.Max, q.P99)
		}
		if q.Max > 0 && q.Min > q.Max {
			return fmt.Errorf("%s.min: %d is above max %d", f, q.Min, q.Max)
		}
	}
	for _, name := range sortedResourceKeys(b.ForecastError) {
		fe := b.ForecastError[name]
		if _, err := ParseResource(name); err != nil {
			return fmt.Errorf("forecast_error.%s: %w", name, err)
		}
		if math.IsNaN(fe.MASE) || math.IsInf(fe.MASE, 0) || fe.MASE < 0 {
			return fmt.Errorf("forecast_error.%s.mase: %v is not a non-negative number", name, fe.MASE)
		}
		for _, c := range []struct {
			n string
			v float64
		}{{"coverage_p90", fe.CoverageP90}, {"coverage_p99", fe.CoverageP99}} {
			if math.IsNaN(c.v) || c.v < 0 || c.v > 1 {
				return fmt.Errorf("forecast_error.%s.%s: %v is outside [0, 1]", name, c.n, c.v)
			}
		}
	}
	return nil
}

// Boost raises a service's weight by Factor at StartEpoch, decaying linearly
// to 1 over TTLEpochs epochs.
type Boost struct {
	Service    string  `json:"service"`
	Factor     float64 `json:"factor"`
	StartEpoch uint64  `json:"start_epoch"`
	TTLEpochs  uint64  `json:"ttl_epochs"`
	Reason     string  `json:"reason,omitempty"`
}

// Validate checks a boost on its own; the error names the field.
func (b *Boost) Validate() error {
	if err := ValidateName("service", b.Service); err != nil {
		return err
	}
	if math.IsNaN(b.Factor) || b.Factor < 1 || b.Factor > MaxBoost {
		return fmt.Errorf("factor: %v is outside [1, %v]", b.Factor, MaxBoost)
	}
	if b.TTLEpochs < 1 || b.TTLEpochs > 100000 {
		return fmt.Errorf("ttl: %d epochs is outside [1, 100000]", b.TTLEpochs)
	}
	if len(b.Reason) > 1024 {
		return fmt.Errorf("reason: longer than 1024 characters")
	}
	return nil
}

// ExpireEpoch is the first epoch at which the boost no longer applies.
func (b *Boost) ExpireEpoch() uint64 { return b.StartEpoch + b.TTLEpochs }

// Node is a client node and the capacity it offers.
type Node struct {
	Name     string `json:"node"`
	Capacity Vec    `json:"capacity"`
}

// PlacementKey is a (service, node) pair.
type PlacementKey struct {
	Service string `json:"service"`
	Node    string `json:"node"`
}

// Less orders placement keys by (service, node).
func (k PlacementKey) Less(o PlacementKey) bool {
	if k.Service != o.Service {
		return k.Service < o.Service
	}
	return k.Node < o.Node
}

// Options are the server-side knobs of the solver.
type Options struct {
	HeadroomFrac  float64 `json:"headroom_frac"`  // fraction of each node's capacity kept free (0..0.5)
	Reserve       Vec     `json:"reserve"`        // system reserve per node, taken off before headroom
	ShareCap      float64 `json:"share_cap"`      // max fraction of the cluster's resource per service (0: none)
	Budget        Vec     `json:"budget"`         // most granted in all per resource across the cluster (0: no budget)
	BoostCapFrac  float64 `json:"boost_cap_frac"` // total extra weight from boosts, as a fraction of all weight (0: no cap)
	Deadband      float64 `json:"deadband"`       // relative change below which the previous allocation is kept
	MaxIterations int     `json:"max_iterations"` // simplex iteration cap (0: solver default)
	// SkipExplain leaves Plan.Explain empty (for large clusters: the
	// explanations are most of a plan's size and of Solve's time); Explain
	// recomputes them for one service from the same Problem.
	SkipExplain bool `json:"skip_explain,omitempty"`
}

// DefaultOptions are the settings a server uses unless configured otherwise.
func DefaultOptions() Options {
	return Options{HeadroomFrac: 0.05, ShareCap: 0.3, BoostCapFrac: 0.3, Deadband: 0.02}
}

// Problem is everything the solver needs for one epoch. The caller (the
// leader) passes the bids in force at Epoch; the solver does not filter by age.
type Problem struct {
	Epoch    uint64
	Nodes    []Node
	Services []Service
	Bids     []Bid
	Boosts   []Boost
	Previous *Plan // last committed plan, for the deadband (may be nil)
	Options  Options
}

// Allocation is what one placement gets, in base units.
type Allocation struct {
	Service string `json:"service"`
	Node    string `json:"node"`
	CPU     int64  `json:"cpu"`
	Memory  int64  `json:"memory"`
	IO      int64  `json:"io"`
	Net     int64  `json:"net"`
}

// Get returns the allocation of resource r.
func (a *Allocation) Get(r Resource) int64 {
	switch r {
	case CPU:
		return a.CPU
	case Memory:
		return a.Memory
	case IO:
		return a.IO
	case Net:
		return a.Net
	}
	return 0
}

// Set sets the allocation of resource r.
func (a *Allocation) Set(r Resource, v int64) {
	switch r {
	case CPU:
		a.CPU = v
	case Memory:
		a.Memory = v
	case IO:
		a.IO = v
	case Net:
		a.Net = v
	}
}

// NodePlan is a node's capacity as the solver used it and its shadow prices.
type NodePlan struct {
	Node        string             `json:"node"`
	Capacity    Vec                `json:"capacity"`
	ShadowPrice map[string]float64 `json:"shadow_price"`
}

// Stats describe how a plan was made.
type Stats struct {
	SolveMS      float64 `json:"solve_ms"`
	Bids         int     `json:"bids"`
	Services     int     `json:"services"`
	FairnessJain float64 `json:"fairness_jain"`
	Objective    float64 `json:"objective"`
	Gap          float64 `json:"gap"`
	Iterations   int     `json:"iterations"`
	Fallback     bool    `json:"fallback,omitempty"`     // greedy plan used after the iteration cap
	CapsBinding  int     `json:"caps_binding,omitempty"` // share caps (service × resource) at their limit in the LP
	// BudgetPrices is the shadow price of each resource's cluster budget
	// whose row was in the LP (0: it did not bind).
	BudgetPrices map[string]float64 `json:"budget_prices,omitempty"`
}

// Plan is the committed result of one epoch.
type Plan struct {
	Epoch       uint64        `json:"epoch"`
	Index       uint64        `json:"index"`       // Raft index of the plan entry (set by the FSM)
	InputIndex  uint64        `json:"input_index"` // Raft index of the state the plan was solved from
	Created     time.Time     `json:"created"`     // set by the leader before the entry is logged
	Hash        string        `json:"hash"`
	Allocations []Allocation  `json:"allocations"`
	Nodes       []NodePlan    `json:"nodes"`
	Stats       Stats         `json:"stats"`
	Problems    []string      `json:"problems,omitempty"` // admission problems (mins above a node's capacity)
	Explain     []Explanation `json:"explain,omitempty"`
	// Node, NodeHash and Unchanged are set only on a per-node slice
	// (GET /v1/plan?node=ID, see NodeSlice); a stored plan has none.
	Node     string `json:"node,omitempty"`
	NodeHash string `json:"node_hash,omitempty"`
	// Unchanged marks a stub: the node's slice is the one of the plan the
	// caller last saw (same NodeHash), so Allocations and Nodes are left
	// out; the other fields are the new plan's.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Explanation says why one placement got what it got.
type Explanation struct {
	Service   string                `json:"service"`
	Node      string                `json:"node"`
	Weight    float64               `json:"weight"`
	Boost     float64               `json:"boost"` // multiplier in effect (1: none)
	Resources map[string]ResExplain `json:"resources"`
}

// ResExplain explains one resource of one placement.
type ResExplain struct {
	Floor       int64     `json:"floor"`
	Granted     int64     `json:"granted"`
	Segments    []Segment `json:"segments"`
	Binding     string    `json:"binding"` // e.g. "node n1 cpu", "share cap", "bid max", "none"
	ShadowPrice float64   `json:"shadow_price"`
}

// Segment is one piece of a placement's concave utility above its floor.
type Segment struct {
	Name    string  `json:"name"`    // "p50", "p90", "p99", "max"
	Width   int64   `json:"width"`   // units in the segment
	Value   float64 `json:"value"`   // utility per unit
	Granted int64   `json:"granted"` // units granted in the segment
}

package sim

import "math"

// Slack is Σmax(0,a−u)/Σa (0 when nothing is allocated).
func Slack(a, u []float64) float64 {
	var s, t float64
	for i := range a {
		s += math.Max(0, a[i]-u[i])
		t += a[i]
	}
	return ratio(s, t)
}

// Shortfall is Σmax(0,u−a)/Σu (0 when there is no usage).
func Shortfall(a, u []float64) float64 {
	var s, t float64
	for i := range a {
		s += math.Max(0, u[i]-a[i])
		t += u[i]
	}
	return ratio(s, t)
}

// Jain is Jain's fairness index (Σx)²/(n·Σx²) (1 for an empty or all-zero x).
func Jain(x []float64) float64 {
	var s, q float64
	for _, v := range x {
		s += v
		q += v * v
	}
	if len(x) == 0 || q == 0 {
		return 1
	}
	return s * s / (float64(len(x)) * q)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Metrics are one policy's results at one contention level.
type Metrics struct {
	Slack            float64 `json:"slack"`
	Shortfall        float64 `json:"shortfall"`
	ShortfallW       float64 `json:"shortfall_weighted"`     // class-weighted shortfall
	ShortCritical    float64 `json:"shortfall_critical"`     // shortfall of critical services
	ShortIntervals   float64 `json:"short_intervals"`        // service-epochs short by more than 1% of demand
	OOMRisk          float64 `json:"oom_risk"`               // service-epochs with memory usage above allocation
	OOMKills         float64 `json:"oom_kills"`              // service-epochs OOM-killed (Kernel): oom_risk under hard limits, fewer where memory is borrowed
	Utility          float64 `json:"utility"`                // Σ class weight × served / cluster capacity
	UtilityRatio     float64 `json:"utility_ratio"`          // Utility / oracle's
	Jain             float64 `json:"jain"`                   // mean over epochs of Jain's index of served fractions
	Churn            float64 `json:"churn"`                  // Σ|a_t−a_{t−1}| / Σa_t
	BoostRecoveryMin float64 `json:"boost_recovery_min"`     // mean minutes from a breach's start to served ≥ 95%
	BreachShortfall  float64 `json:"breach_shortfall"`       // shortfall of breached services during their breaches
	Boosts           int     `json:"boosts"`                 // boosts issued by SLA probes
	CoverageP90      float64 `json:"coverage_p90,omitempty"` // usage ≤ bid p90 (forecast policies)
	CoverageP99      float64 `json:"coverage_p99,omitempty"`
	SolveMS          float64 `json:"solve_ms_mean,omitempty"`
	// Where slack and shortfall come from: per resource, class and trace
	// family (a folder of the trace directory), and for bidding policies
	// the part of slack below the forecast p90, in the bid's padding, and
	// granted above the bid.
	ByResource   map[string]Part `json:"by_resource,omitempty"`
	ByClass      map[string]Part `json:"by_class,omitempty"`
	ByFamily     map[string]Part `json:"by_family,omitempty"`
	SlackSources *SlackSources   `json:"slack_sources,omitempty"`
	// SlackKernel is the part of Slack (every policy) that the allocation
	// let through but the kernel did not serve: OOM restarts and the CFS
	// quota's 4%.
	SlackKernel float64 `json:"slack_kernel"`
	// ShortfallSources splits a bidding policy's shortfall into demand
	// within its bid that was not granted and demand above its bid.
	ShortfallSources *ShortfallSources `json:"shortfall_sources,omitempty"`
}

// acc accumulates the metrics of one run. Every (service, resource)
// quantity is divided by that series' 95th percentile, so that each counts
// in units of its own typical size: a heavy-tailed disk series with one
// placement does not outweigh twenty cpu series.
type acc struct {
	inv                      [][nr]float64 // per service: 1 / p95
	capInv                   [nr]float64   // 1 / cluster effective capacity (utility)
	sumA, sumU, slack, short float64
	wU, wShort, cU, cShort   float64
	util                     float64
	memN, oomN, shortN, intN int
	jainSum                  float64
	jainN                    int
	churnNum, churnDen       float64
	prev                     [][nr]int64
	served                   []float64 // per service, this epoch
	jx                       []float64
	// optional breakdown (withBreakdown); bids is set per epoch by
	// policies that bid (nil otherwise)
	bd     *breakdown
	class  []string
	family [][nr]string
	bids   [][nr]bidTop
}

// withBreakdown makes the accumulator group its figures by resource, class
// and family of w's services.
func (a *acc) withBreakdown(w *World) *acc {
	a.bd, a.class, a.family = newBreakdown(), w.classes(), w.families()
	return a
}

// newAcc normalises slack and shortfall by each series' p95 and utility by
// the cluster's effective capacity per resource: a constant per resource,
// so the oracle, which maximises Σ weight × served per node and resource,
// is the optimum of the measured utility too.
func newAcc(p95 [][nr]float64, eff [][nr]int64) *acc {
	a := &acc{served: make([]float64, len(p95)), inv: make([][nr]float64, len(p95))}
	var tot [nr]float64
	for _, c := range eff {
		for r := range nr {
			tot[r] += float64(c[r])
		}
	}
	for r := range nr {
		if tot[r] > 0 {
			a.capInv[r] = 1 / tot[r]
		}
	}
	for s := range p95 {
		for r := range nr {
			if p95[s][r] > 0 {
				a.inv[s][r] = 1 / p95[s][r]
			}
		}
	}
	return a
}

// epoch adds one epoch: alloc and demand per service and resource, has
// marks the resources a service uses, weight its class weight and crit
// whether it is critical; got is what each was served (nil: min(alloc,
// demand), the simulator's model; a live run passes what the kernel let
// its processes have). It returns each service's served fraction.
func (a *acc) epoch(alloc [][nr]int64, demand [][nr]float64, got [][nr]float64, has [][nr]bool, weight []float64, crit []bool) []float64 {
	a.jx = a.jx[:0]
	for s := range alloc {
		var fsum float64
		var fn int
		short := false
		for r := range nr {
			if !has[s][r] {
				continue
			}
			x, u := float64(alloc[s][r]), demand[s][r]
			used := math.Min(x, u) // what the processes used
			if got != nil {
				used = math.Max(0, got[s][r])
			}
			g := math.Min(used, u) // served
			k := a.inv[s][r]
			sl, sh := math.Max(0, x-used), u-g
			a.sumA += x * k
			a.sumU += u * k
			a.slack += sl * k
			a.short += sh * k
			a.wU += weight[s] * u * k
			a.wShort += weight[s] * sh * k
			if crit[s] {
				a.cU += u * k
				a.cShort += sh * k
			}
			a.util += weight[s] * g * a.capInv[r]
			if a.bd != nil {
				var b *bidTop
				if a.bids != nil {
					b = &a.bids[s][r]
				}
				a.bd.add(r, a.class[s], a.family[s][r], x, u, used, sl, sh, k, b)
			}
			if r == 1 { // memory
				a.memN++
				if u > x {
					a.oomN++
				}
			}
			if u > 0 {
				fsum += g / u
				fn++
				if sh > 0.01*u {
					short = true
				}
			}
			if a.prev != nil {
				a.churnNum += math.Abs(x-float64(a.prev[s][r])) * k
				a.churnDen += x * k
			}
		}
		a.served[s] = 1
		if fn > 0 {
			a.served[s] = fsum / float64(fn)
			a.jx = append(a.jx, a.served[s])
		}
		a.intN++
		if short {
			a.shortN++
		}
	}
	if len(a.jx) > 0 {
		a.jainSum += Jain(a.jx)
		a.jainN++
	}
	if a.prev == nil {
		a.prev = make([][nr]int64, len(alloc))
	}
	copy(a.prev, alloc)
	return a.served
}

func (a *acc) metrics() Metrics {
	m := a.headline()
	if a.bd != nil {
		a.bd.fill(&m, a.sumA, a.sumU)
	}
	return m
}

func (a *acc) headline() Metrics {
	return Metrics{
		Slack:          ratio(a.slack, a.sumA),
		Shortfall:      ratio(a.short, a.sumU),
		ShortfallW:     ratio(a.wShort, a.wU),
		ShortCritical:  ratio(a.cShort, a.cU),
		ShortIntervals: ratio(float64(a.shortN), float64(a.intN)),
		OOMRisk:        ratio(float64(a.oomN), float64(a.memN)),
		Utility:        a.util,
		Jain:           ratio(a.jainSum, float64(a.jainN)),
		Churn:          ratio(a.churnNum, a.churnDen),
	}
}

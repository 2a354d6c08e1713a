package sim

import (
	"math"
	"path/filepath"
	"strings"

	"github.com/allot-dev/allot/bidding"
)

// Part is slack and shortfall over a subset of the (service, resource)
// pairs, in the same normalised units as the headline figures.
type Part struct {
	Slack     float64 `json:"slack"`
	Shortfall float64 `json:"shortfall"`
	// AllocShare is this subset's share of the whole run's allocation: how
	// much of the headline slack it can carry.
	AllocShare float64 `json:"alloc_share"`
	// NotGranted is the part of Shortfall within the bid that the solver
	// did not grant (bidding policies only; see ShortfallSources), as a
	// share of this subset's demand.
	NotGranted float64 `json:"short_not_granted,omitempty"`
}

// SlackSources splits a bidding policy's slack (shares of its whole
// allocation; they add up to Slack): what the kernel took from an
// allocation the demand would have used (an OOM kill's restart idles a
// quarter of the epoch on every resource; a CFS quota lets 96% of itself
// through), and of the rest: below the forecast p90 (the forecast itself
// was high), between p90 and the top of the bid (the class quantile, memory
// padding), and above the bid (what the solver granted beyond it: deadband
// holds, fairness floors and minimums, spare memory up to max).
type SlackSources struct {
	Kernel   float64 `json:"kernel"`
	Forecast float64 `json:"forecast"`
	Padding  float64 `json:"padding"`
	AboveBid float64 `json:"above_bid"`
}

// ShortfallSources splits a bidding policy's shortfall (shares of its whole
// demand; they add up to Shortfall): demand up to the top of the bid that
// the solver did not grant (contention: class priority, share cap, deadband
// holds), demand above the top of the bid (the bid was low: the forecast, a
// capped padding, a class quantile below the demand), and what the kernel
// took from an allocation that covered the demand (an OOM kill's restart,
// which costs a quarter of the epoch on every resource, and a CFS quota
// letting through only 96% of itself).
type ShortfallSources struct {
	NotGranted float64 `json:"not_granted"`
	AboveBid   float64 `json:"above_bid"`
	Kernel     float64 `json:"kernel"`
}

// sums accumulates one subset.
type sums struct{ a, u, slack, short, cut float64 }

func (s *sums) add(x, u, sl, sh float64) {
	s.a, s.u, s.slack, s.short = s.a+x, s.u+u, s.slack+sl, s.short+sh
}

func (s sums) part(totalA float64) Part {
	return Part{Slack: ratio(s.slack, s.a), Shortfall: ratio(s.short, s.u), AllocShare: ratio(s.a, totalA), NotGranted: ratio(s.cut, s.u)}
}

// breakdown groups a run's slack and shortfall by resource, class and trace
// family, and for bidding policies by source.
type breakdown struct {
	res    [nr]sums
	class  map[string]*sums
	family map[string]*sums
	src    SlackSources
	short  ShortfallSources
	kernel float64 // slack lost in the kernel, every policy
	hasSrc bool
}

func newBreakdown() *breakdown {
	return &breakdown{class: map[string]*sums{}, family: map[string]*sums{}}
}

// bidTop is what a bidding policy asked for one resource: the forecast p90
// and the top of its bid (p99 or max).
type bidTop struct{ p90, top float64 }

// add records one (service, resource) epoch in base units: allocation x,
// demand u, what was used, slack sl and shortfall sh; k normalises them
// (the inverse of the series' size); b is the bid (nil for policies that do
// not bid).
func (bd *breakdown) add(r int, class, family string, x, u, used, sl, sh, k float64, b *bidTop) {
	get := func(m map[string]*sums, key string) *sums {
		if m[key] == nil {
			m[key] = &sums{}
		}
		return m[key]
	}
	parts := []*sums{&bd.res[r], get(bd.class, class), get(bd.family, family)}
	for _, p := range parts {
		p.add(x*k, u*k, sl*k, sh*k)
	}
	// What the allocation let through (min(x, u)) but the kernel did not
	// serve is slack too, and no bid's fault.
	base := math.Max(used, math.Min(x, u))
	bd.kernel += (base - used) * k
	if b == nil {
		return
	}
	bd.hasSrc = true
	bd.src.Kernel += (base - used) * k
	bd.src.Forecast += math.Max(0, math.Min(x, b.p90)-base) * k
	bd.src.Padding += math.Max(0, math.Min(x, b.top)-math.Max(base, b.p90)) * k
	bd.src.AboveBid += math.Max(0, x-math.Max(base, math.Max(b.top, b.p90))) * k
	top := math.Max(b.top, b.p90)
	cut := math.Min(sh, math.Max(0, math.Min(u, top)-x))
	above := math.Min(sh-cut, math.Max(0, u-math.Max(top, x)))
	bd.short.NotGranted += cut * k
	bd.short.AboveBid += above * k
	bd.short.Kernel += (sh - cut - above) * k
	for _, p := range parts {
		p.cut += cut * k
	}
}

// fill sets the breakdown fields of m; totalA and totalU are the run's Σ
// allocation and Σ demand.
func (bd *breakdown) fill(m *Metrics, totalA, totalU float64) {
	m.ByResource, m.ByClass, m.ByFamily = map[string]Part{}, map[string]Part{}, map[string]Part{}
	for r := range nr {
		if bd.res[r].a > 0 || bd.res[r].u > 0 {
			m.ByResource[resName(r)] = bd.res[r].part(totalA)
		}
	}
	for c, s := range bd.class {
		m.ByClass[c] = s.part(totalA)
	}
	for f, s := range bd.family {
		m.ByFamily[f] = s.part(totalA)
	}
	if bd.hasSrc && totalA > 0 {
		m.SlackSources = &SlackSources{Kernel: bd.src.Kernel / totalA, Forecast: bd.src.Forecast / totalA, Padding: bd.src.Padding / totalA, AboveBid: bd.src.AboveBid / totalA}
	}
	m.SlackKernel = ratio(bd.kernel, totalA)
	if bd.hasSrc && totalU > 0 {
		m.ShortfallSources = &ShortfallSources{NotGranted: bd.short.NotGranted / totalU, AboveBid: bd.short.AboveBid / totalU, Kernel: bd.short.Kernel / totalU}
	}
}

// familyOf is the trace family of a series label (file#column): the folder
// of its file below the trace directory, or the file name's first word for
// a file at the top.
func familyOf(label string) string {
	file, _, _ := strings.Cut(label, "#")
	if d := filepath.Dir(file); d != "." && d != "" {
		return filepath.ToSlash(d)
	}
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if i := strings.IndexAny(base, "_-."); i > 0 {
		return base[:i]
	}
	return base
}

// families is each service's family per resource.
func (w *World) families() [][nr]string {
	out := make([][nr]string, len(w.Svcs))
	for s, sv := range w.Svcs {
		for r := range nr {
			if sv.Has[r] {
				out[s][r] = familyOf(sv.Label[r])
			}
		}
	}
	return out
}

// classes is each service's class name.
func (w *World) classes() []string {
	out := make([]string, len(w.Svcs))
	for s, sv := range w.Svcs {
		out[s] = string(sv.Def.Class)
		if out[s] == "" {
			out[s] = string(bidding.ClassStandard)
		}
	}
	return out
}

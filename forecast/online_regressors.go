package forecast

import (
	"math"
	"sort"
	"time"
)

// externals holds external regressor samples and events for an Online
// forecaster, keyed by time; they are bound to grid positions at each refit.
type externals struct {
	regs   map[string]map[int64]float64 // name -> unix nanos -> value
	events []timedEvent
}

type timedEvent struct {
	name       string
	start, end time.Time
}

// maxExternal bounds the samples kept per regressor and the events kept;
// when full, those older than the history are forgotten first.
const maxExternal = 100000

// ObserveRegressor records the value of an external regressor (weather, a
// business metric, a scheduled load) at time t, past or future (a forecast
// of the regressor). The Prophet-style models use every regressor from the
// next refit on; grid points without a sample take the nearest earlier
// sample (or the first one). Non-finite values are ignored.
func (o *Online) ObserveRegressor(name string, t time.Time, v float64) {
	if !isFinite(v) || math.Abs(v) > MaxAbsValue {
		return
	}
	if o.ext.regs == nil {
		o.ext.regs = map[string]map[int64]float64{}
	}
	m := o.ext.regs[name]
	if m == nil {
		m = map[int64]float64{}
		o.ext.regs[name] = m
	}
	if len(m) >= maxExternal {
		o.pruneExternals()
		if len(m) >= maxExternal {
			return
		}
	}
	m[t.UnixNano()] = v
}

// pruneExternals forgets regressor samples and events that ended before
// the start of the history.
func (o *Online) pruneExternals() {
	if len(o.hist) == 0 {
		return
	}
	first := o.lastT.Add(-time.Duration(len(o.hist)) * o.cfg.Interval).UnixNano()
	for _, m := range o.ext.regs {
		for ns := range m {
			if ns < first {
				delete(m, ns)
			}
		}
	}
	kept := o.ext.events[:0]
	for _, e := range o.ext.events {
		if e.end.UnixNano() >= first {
			kept = append(kept, e)
		}
	}
	o.ext.events = kept
}

// AddEvent marks [start, end) as an occurrence of a named event (holiday,
// sale, deploy); each name becomes one indicator in the Prophet-style models
// from the next refit on.
func (o *Online) AddEvent(name string, start, end time.Time) {
	if !end.After(start) {
		return
	}
	if len(o.ext.events) >= maxExternal {
		o.pruneExternals()
		if len(o.ext.events) >= maxExternal {
			return
		}
	}
	o.ext.events = append(o.ext.events, timedEvent{name, start, end})
}

// bind aligns the externals to positions 0..n+h-1 where position n-1 is at
// time last; it returns nil slices when there are none.
func (x *externals) bind(n, h int, last time.Time, iv time.Duration) ([]Event, []Regressor) {
	if len(x.regs) == 0 && len(x.events) == 0 {
		return nil, nil
	}
	first := last.Add(-time.Duration(n-1) * iv)
	total := n + h
	var regs []Regressor
	names := make([]string, 0, len(x.regs))
	for name := range x.regs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if vals := bindRegressor(x.regs[name], first, iv, total); vals != nil {
			regs = append(regs, Regressor{Name: name, Values: vals})
		}
	}
	byName := map[string]*Event{}
	var events []Event
	var order []string
	for _, e := range x.events {
		lo := int(math.Ceil(float64(e.start.Sub(first)) / float64(iv)))
		hi := int(math.Ceil(float64(e.end.Sub(first)) / float64(iv)))
		lo, hi = max(lo, 0), min(hi, total)
		if lo >= hi {
			continue
		}
		ev := byName[e.name]
		if ev == nil {
			ev = &Event{Name: e.name}
			byName[e.name] = ev
			order = append(order, e.name)
		}
		for p := lo; p < hi; p++ {
			ev.Steps = append(ev.Steps, p)
		}
	}
	for _, name := range order {
		events = append(events, *byName[name])
	}
	return events, regs
}

// bindRegressor resamples samples onto total grid positions from first.
func bindRegressor(samples map[int64]float64, first time.Time, iv time.Duration, total int) []float64 {
	vals := make([]float64, total)
	have := make([]bool, total)
	any := false
	for ns, v := range samples {
		p := int(math.Round(float64(time.Unix(0, ns).Sub(first)) / float64(iv)))
		if p < 0 || p >= total {
			continue
		}
		vals[p], have[p], any = v, true, true
	}
	if !any {
		return nil
	}
	last, seen := 0.0, false
	for p := range vals {
		if have[p] {
			last, seen = vals[p], true
		} else if seen {
			vals[p] = last
		}
	}
	for p := range vals {
		if have[p] {
			for q := 0; q < p; q++ {
				vals[q] = vals[p]
			}
			break
		}
	}
	return vals
}

package forecast

import "math"

// The feedback loop of Online: every actual is compared with the forecasts
// made for it, feeding the conformal calibration, the adaptive quantile
// levels, the running metrics and the level-shift detector.

// score compares actual v at index idx with pending forecasts.
func (o *Online) score(idx int, v float64) {
	for _, p := range o.ring {
		k := idx - p.origin - 1
		if k < 0 || k >= len(p.point) {
			continue
		}
		o.cal.Add(k, v-p.point[k])
		o.reg.cal[p.regime].Add(k, v-p.point[k])
		if k == 0 {
			o.trackShift(v - p.point[0])
		}
		q := p.q[k]
		if o.scale > 0 {
			o.absErr += math.Abs(v-q.P50) / o.scale
		}
		hit90, hit99 := 0.0, 0.0
		if v <= q.P90 {
			o.b90++
			hit90 = 1
		}
		if v <= q.P99 {
			o.b99++
			hit99 = 1
		}
		o.scored++
		// Adaptive conformal inference (Gibbs & Candes 2021): nudge the
		// levels so that long-run coverage tracks the target.
		o.l90 = math.Min(math.Max(o.l90+aciRate*(0.9-hit90), 0.5), 0.999)
		o.l99 = math.Min(math.Max(o.l99+aciRate*(0.99-hit99), 0.9), 0.9999)
		o.reg.adapt(p.regime, hit90, hit99)
	}
}

// issue makes the point forecast after observation idx and remembers it.
func (o *Online) issue(idx int) {
	if o.model == nil {
		return
	}
	// Long horizons forecast from every stride-th origin only, bounding
	// the work per observation and the forecasts held for scoring (about
	// maxPendingValues values); Forecast always forecasts afresh.
	stride := max(1, o.cfg.Horizon*o.cfg.Horizon/maxPendingValues)
	if idx%stride != 0 && o.lastQ != nil {
		return
	}
	point := o.point()
	if o.offsets == nil || o.offAge >= max(offsetsEvery, o.cfg.Horizon/8) {
		o.refreshOffsets()
	}
	o.offAge += stride
	regime := o.regimeNow()
	o.lastQ = Apply(point, o.offsetsFor(regime), o.nonNeg)
	p := pending{origin: idx, point: point, q: o.lastQ, regime: regime}
	if len(o.ring) < o.cfg.Horizon/stride+1 {
		o.ring = append(o.ring, p)
	} else {
		copy(o.ring, o.ring[1:])
		o.ring[len(o.ring)-1] = p
	}
}

// point is the model's point forecast, or the naive one if it fails.
func (o *Online) point() []float64 {
	point, err := o.model.Forecast(o.cfg.Horizon)
	if err != nil || !allFinite(point) {
		point = o.naive()
	}
	return point
}

func (o *Online) refreshOffsets() {
	o.cal.FallbackScale = seasonalScale(o.hist, 1)
	o.offsets = o.cal.OffsetsAt(o.l90, o.l99)
	o.refreshRegimes()
	o.offAge = 0
	o.shiftTol = 0
	if o.cal.Count(0) >= minCalib {
		r0 := sortedCopy(o.cal.res[0])
		lo, hi := conformalQuantile(r0, 0.01), conformalQuantile(r0, 0.99)
		o.shiftTol = 2 * math.Max(math.Abs(lo), math.Abs(hi))
	}
}

// offsetsEvery is how many observations the conformal offsets are reused
// for by the internal forecasts (Horizon/8 for long horizons; Forecast
// always recomputes them).
const offsetsEvery = 6

// aciRate is the step of the adaptive quantile levels per scored
// (forecast, actual) pair.
const aciRate = 0.002

// shiftLen is the number of consecutive one-sided large one-step errors
// taken as a level shift.
func (o *Online) shiftLen() int { return max(6, o.cfg.Horizon/2) }

// trackShift counts consecutive one-step errors beyond twice the calibrated
// 1%/99% error quantiles, all of the same sign.
func (o *Online) trackShift(r float64) {
	if o.shiftTol <= 0 || math.Abs(r) <= o.shiftTol {
		o.shiftRun = 0
		return
	}
	if o.shiftRun > 0 && (r > 0) != (o.lastShiftSign > 0) {
		o.shiftRun = 0
	}
	o.shiftRun++
	o.lastShiftSign = r
}

// levelShift forgets the history before the shift, so that the model is
// refitted on the new regime (falling back to simple models until enough
// new history accumulates).
func (o *Online) levelShift() {
	// The run includes the actual being absorbed, which is not in hist yet.
	keep := min(max(o.shiftRun-1, 0), len(o.hist))
	o.hist = append(o.hist[:0], o.hist[len(o.hist)-keep:]...)
	o.shiftRun = 0
	o.shifts++
	o.fitLen = 0
	o.model = nil
}

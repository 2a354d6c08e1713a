package forecast

import "math"

// Intermittent series (mostly zero, with bursts) have two regimes: idle,
// where the next steps are very likely zero too, and busy, where a burst
// tends to go on. One calibration for both spreads the burst sizes over
// every forecast: p90/p99 then ask for a burst's worth at every idle step.
// So when at least intermittentZeros of the history is exactly zero, the
// errors of forecasts made from an idle origin (last observation zero) and
// from a busy one are calibrated apart, and each forecast takes the offsets
// of its origin's regime (once that regime has minCalib errors at the last
// step; the pooled calibration until then). The quantiles stay conformal:
// the empirical error quantiles of forecasts made in the same regime.

// Each regime also has its own adaptive levels (ACI): with one pair of
// levels for both, the idle steps — covered more than 90% of the time by
// any p90 ≥ 0, as they are mostly exactly zero — pulled the shared level
// down until forecasts from inside a burst covered only 57–78% of the time.
type regimes struct {
	on       bool
	cal      [2]*Calibrator
	off      [2][][4]float64
	l90, l99 [2]float64
}

const (
	regimeIdle = 0
	regimeBusy = 1
)

func newRegimes(h, window int) regimes {
	return regimes{cal: [2]*Calibrator{NewCalibrator(h, window), NewCalibrator(h, window)}, l90: [2]float64{0.9, 0.9}, l99: [2]float64{0.99, 0.99}}
}

// regimeNow is the regime of an origin at the last observation.
func (o *Online) regimeNow() int {
	if len(o.hist) > 0 && o.hist[len(o.hist)-1] == 0 {
		return regimeIdle
	}
	return regimeBusy
}

// offsetsFor is the conformal offsets for a forecast made now.
func (o *Online) offsetsFor(regime int) [][4]float64 {
	if o.reg.on && o.reg.off[regime] != nil {
		return o.reg.off[regime]
	}
	return o.offsets
}

// refreshRegimes recomputes the regime offsets (nil for a regime with too
// few errors yet).
func (o *Online) refreshRegimes() {
	o.reg.on = zeroShare(o.hist) >= intermittentZeros
	for r, c := range o.reg.cal {
		o.reg.off[r] = nil
		if o.reg.on && c.Count(o.cfg.Horizon-1) >= minCalib {
			c.FallbackScale = o.cal.FallbackScale
			o.reg.off[r] = c.OffsetsAt(o.reg.l90[r], o.reg.l99[r])
		}
	}
}

// adapt moves the levels of regime r after a scored actual (hit90, hit99:
// 1 when it was at or below the forecast's p90, p99), as score does for
// the pooled levels.
func (g *regimes) adapt(r int, hit90, hit99 float64) {
	g.l90[r] = math.Min(math.Max(g.l90[r]+aciRate*(0.9-hit90), 0.5), 0.999)
	g.l99[r] = math.Min(math.Max(g.l99[r]+aciRate*(0.99-hit99), 0.9), 0.9999)
}

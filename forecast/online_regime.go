package forecast

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

type regimes struct {
	on  bool
	cal [2]*Calibrator
	off [2][][4]float64
}

const (
	regimeIdle = 0
	regimeBusy = 1
)

func newRegimes(h, window int) regimes {
	return regimes{cal: [2]*Calibrator{NewCalibrator(h, window), NewCalibrator(h, window)}}
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
			o.reg.off[r] = c.OffsetsAt(o.l90, o.l99)
		}
	}
}

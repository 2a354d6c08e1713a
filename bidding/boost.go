package bidding

import "math"

// BoostFactorAt is the multiplier a boost gives at epoch: Factor at
// StartEpoch, decaying linearly to 1 at StartEpoch+TTLEpochs, and 1 outside
// that window or for a malformed boost.
func BoostFactorAt(b Boost, epoch uint64) float64 {
	if math.IsNaN(b.Factor) || math.IsInf(b.Factor, 0) || b.Factor <= 1 || b.TTLEpochs == 0 {
		return 1
	}
	f := math.Min(b.Factor, MaxBoost)
	if epoch < b.StartEpoch || epoch-b.StartEpoch >= b.TTLEpochs {
		return 1
	}
	left := float64(b.TTLEpochs-(epoch-b.StartEpoch)) / float64(b.TTLEpochs)
	return 1 + float64((f-1)*left)
}

// boostMultipliers returns each service's boost multiplier at epoch (the
// largest of its boosts in effect), scaled down so that the total extra weight
// Σ base·(m−1) is at most capFrac·Σ base (capFrac ≤ 0: no cap). base is
// indexed like names (sorted service names).
func boostMultipliers(names []string, base []float64, boosts []Boost, epoch uint64, capFrac float64) []float64 {
	mult := make([]float64, len(names))
	for i := range mult {
		mult[i] = 1
	}
	for _, b := range boosts {
		i := searchString(names, b.Service)
		if i < 0 {
			continue
		}
		if f := BoostFactorAt(b, epoch); f > mult[i] {
			mult[i] = f
		}
	}
	if capFrac <= 0 || math.IsNaN(capFrac) {
		return mult
	}
	var extra, total float64
	for i := range mult {
		total += base[i]
		extra += float64(base[i] * (mult[i] - 1))
	}
	limit := float64(capFrac * total)
	if extra <= limit || extra == 0 {
		return mult
	}
	scale := limit / extra
	for i := range mult {
		if mult[i] > 1 {
			mult[i] = 1 + float64((mult[i]-1)*scale)
		}
	}
	return mult
}

func searchString(sorted []string, s string) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sorted[m] < s {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(sorted) && sorted[lo] == s {
		return lo
	}
	return -1
}

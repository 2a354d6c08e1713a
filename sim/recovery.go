package sim

import "math"

// recoveredServed is the served fraction at which a breached service counts
// as recovered.
const recoveredServed = 0.95

// recovery measures, per injected breach, the epochs from its start until
// the service is served at least recoveredServed of its demand on every
// resource, and the shortfall of breached services during their breaches.
type recovery struct {
	br    []WBreach
	first []int // per breach: first recovered epoch (−1: not yet)
	short []float64
	use   []float64
	byK   map[int][]int // evaluated epoch -> breaches active
}

func newRecovery(w *World) *recovery {
	rc := &recovery{br: w.Breaches, first: make([]int, len(w.Breaches)), short: make([]float64, len(w.Breaches)), use: make([]float64, len(w.Breaches)), byK: map[int][]int{}}
	for i, b := range w.Breaches {
		rc.first[i] = -1
		for k := b.Start; k < b.Start+b.Epochs; k++ {
			rc.byK[k] = append(rc.byK[k], i)
		}
	}
	return rc
}

// epoch records evaluated epoch k; inv normalises each resource.
func (rc *recovery) epoch(k int, alloc [][nr]int64, demand [][nr]float64, has [][nr]bool, inv [][nr]float64) {
	for _, i := range rc.byK[k] {
		s := rc.br[i].Svc
		ok := true
		for r := range nr {
			if !has[s][r] {
				continue
			}
			u, a := demand[s][r], float64(alloc[s][r])
			rc.short[i] += math.Max(0, u-a) * inv[s][r]
			rc.use[i] += u * inv[s][r]
			if u > 0 && a < recoveredServed*u {
				ok = false
			}
		}
		if ok && rc.first[i] < 0 {
			rc.first[i] = k
		}
	}
}

// result is the mean recovery time in minutes (a breach never recovered
// counts its whole length) and the shortfall during breaches.
func (rc *recovery) result(w *World) (minutes, shortfall float64) {
	if len(rc.br) == 0 {
		return 0, 0
	}
	var sum, s, u float64
	for i, b := range rc.br {
		f := rc.first[i]
		if f < 0 {
			f = b.Start + b.Epochs
		}
		sum += float64(f - b.Start)
		s += rc.short[i]
		u += rc.use[i]
	}
	return sum / float64(len(rc.br)) * w.Epoch.Minutes(), ratio(s, u)
}

package sim

import (
	"math"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// The Kubernetes Vertical Pod Autoscaler recommender's documented defaults
// (autoscaler/vertical-pod-autoscaler, recommender flags and
// pkg/recommender/model): exponential histogram buckets growing by 5%,
// samples decaying with a 24 h half-life, target at the 90th percentile plus
// a 15% safety margin, memory histogrammed as the peak of each 24 h
// aggregation interval, pod minimums of 25 millicores and 250 MiB.
const (
	vpaBucketRatio   = 1.05
	vpaHalfLife      = 24 * time.Hour
	vpaPercentile    = 0.9
	vpaMargin        = 0.15
	vpaMemInterval   = 24 * time.Hour
	vpaMinCPU        = 25
	vpaMinMemory     = 250 << 20
	vpaNumBuckets    = 400
	vpaRenormalizeAt = 1e100
	// On an OOM kill VPA records a memory sample of the larger of the
	// limit + 100 MiB and 1.2 × the limit (OOMMinBumpUp, OOMBumpUpRatio).
	vpaOOMMinBump   = 100 << 20
	vpaOOMBumpRatio = 1.2
)

// vpaFirstBucket is the first bucket's width per resource (VPA: 0.01 core,
// 10 MB; io and net, which VPA does not size, get 10 kB/s and 10 kbit/s).
var vpaFirstBucket = [nr]float64{bidding.CPU: 10, bidding.Memory: 1e7, bidding.IO: 1e4, bidding.Net: 1e4}

// decayHist is VPA's decaying exponential histogram: a sample at time t
// weighs 2^(t/halfLife) relative to t=0, so older samples fade.
type decayHist struct {
	first   float64
	weights [vpaNumBuckets]float64
	total   float64
}

func (h *decayHist) bucket(v float64) int {
	if v < h.first {
		return 0
	}
	b := int(math.Log(1+v*(vpaBucketRatio-1)/h.first) / math.Log(vpaBucketRatio))
	return min(b, vpaNumBuckets-1)
}

// bucketStart is the lower bound of bucket b.
func (h *decayHist) bucketStart(b int) float64 {
	return h.first * (math.Pow(vpaBucketRatio, float64(b)) - 1) / (vpaBucketRatio - 1)
}

func (h *decayHist) add(v, w float64) {
	h.weights[h.bucket(v)] += w
	h.total += w
}

// percentile returns the end of the bucket holding the p-quantile, as VPA does.
func (h *decayHist) percentile(p float64) float64 {
	if h.total <= 0 {
		return 0
	}
	var cum float64
	for b, w := range h.weights {
		cum += w
		if cum >= p*h.total {
			return h.bucketStart(b + 1)
		}
	}
	return h.bucketStart(vpaNumBuckets)
}

func (h *decayHist) scale(f float64) {
	for b := range h.weights {
		h.weights[b] *= f
	}
	h.total *= f
}

// vpa is the VPA-like baseline, its recommendation applied every epoch
// (in place, without eviction delays: the most favourable reading of VPA).
// It sees what VPA's recommender sees: usage, capped by the limits it set
// (env.reading), and OOM kills.
type vpa struct {
	e      *env
	hist   [][nr]*decayHist
	peak   [][nr]float64 // memory peak of the current aggregation interval
	fed    int           // absolute epochs absorbed
	refAge float64       // epochs since the weight reference point
}

func newVPA(e *env) *vpa {
	p := &vpa{e: e, hist: make([][nr]*decayHist, len(e.w.Svcs)), peak: make([][nr]float64, len(e.w.Svcs))}
	for s := range p.hist {
		for r := range nr {
			p.hist[s][r] = &decayHist{first: vpaFirstBucket[r]}
		}
	}
	return p
}

// absorb feeds absolute epochs up to (excluding) upto.
func (p *vpa) absorb(upto int) {
	w := p.e.w
	perInterval := int(vpaMemInterval / w.Epoch)
	half := float64(vpaHalfLife) / float64(w.Epoch)
	for ; p.fed < upto; p.fed++ {
		wt := math.Exp2(p.refAge / half)
		if wt > vpaRenormalizeAt {
			for s := range p.hist {
				for r := range nr {
					p.hist[s][r].scale(1 / wt)
				}
			}
			p.refAge, wt = 0, 1
		}
		endOfInterval := (p.fed+1)%perInterval == 0
		for s, sv := range w.Svcs {
			for r := range nr {
				if !sv.Has[r] {
					continue
				}
				rd := p.e.reading(s, r, p.fed)
				v := rd.Usage
				if r == int(bidding.Memory) {
					if rd.Pressed {
						// VPA's recommender on an OOM kill: a sample above
						// the limit, not the usage the kill cut short
						a := float64(p.e.alloc[p.fed-w.Warmup][s][r])
						v = math.Max(a+vpaOOMMinBump, a*vpaOOMBumpRatio)
					}
					p.peak[s][r] = math.Max(p.peak[s][r], v)
					if endOfInterval {
						p.hist[s][r].add(p.peak[s][r], wt)
						p.peak[s][r] = 0
					}
					continue
				}
				p.hist[s][r].add(v, wt)
			}
		}
		p.refAge++
	}
}

func (p *vpa) allocate(k int) ([][nr]int64, error) {
	p.absorb(p.e.w.Warmup + k)
	req := make([][nr]float64, len(p.e.w.Svcs))
	wt := math.Exp2(p.refAge / (float64(vpaHalfLife) / float64(p.e.w.Epoch)))
	for s, sv := range p.e.w.Svcs {
		for r := range nr {
			if !sv.Has[r] {
				continue
			}
			h := p.hist[s][r]
			if r == int(bidding.Memory) && p.peak[s][r] > 0 {
				// the current interval's peak counts as a sample, as in VPA
				h.add(p.peak[s][r], wt)
				req[s][r] = h.percentile(vpaPercentile)
				h.weights[h.bucket(p.peak[s][r])] -= wt
				h.total -= wt
			} else {
				req[s][r] = h.percentile(vpaPercentile)
			}
			req[s][r] *= 1 + vpaMargin
			switch r {
			case int(bidding.CPU):
				req[s][r] = math.Max(req[s][r], vpaMinCPU)
			case int(bidding.Memory):
				req[s][r] = math.Max(req[s][r], vpaMinMemory)
			}
		}
	}
	return p.e.fit(req), nil
}

func (p *vpa) observe(int, []float64) {}
func (p *vpa) stats() (int, float64)  { return 0, 0 }

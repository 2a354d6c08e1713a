package bidding

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
	"pgregory.net/rapid"
)

// genProblem draws a random instance with up to maxPl placements.
func genProblem(t *rapid.T, maxPl int) Problem {
	nNodes := rapid.IntRange(1, 8).Draw(t, "nodes")
	nSvcs := rapid.IntRange(1, 60).Draw(t, "services")
	p := Problem{Epoch: rapid.Uint64Range(0, 20).Draw(t, "epoch")}
	p.Options = Options{
		HeadroomFrac: rapid.SampledFrom([]float64{0, 0.05, 0.2}).Draw(t, "headroom"),
		ShareCap:     rapid.SampledFrom([]float64{0, 0.1, 0.25, 0.3, 0.6}).Draw(t, "sharecap"),
		BoostCapFrac: rapid.SampledFrom([]float64{0, 0.1, 0.3}).Draw(t, "boostcap"),
	}
	for n := range nNodes {
		var c Vec
		c[CPU] = rapid.SampledFrom([]int64{0, 1000, 4000, 16000}).Draw(t, "cpu")
		c[Memory] = rapid.Int64Range(0, 1<<20).Draw(t, "mem")
		c[Net] = rapid.SampledFrom([]int64{0, 5000}).Draw(t, "net")
		p.Nodes = append(p.Nodes, Node{Name: fmt.Sprintf("n%02d", n), Capacity: c})
	}
	if rapid.IntRange(0, 2).Draw(t, "hasbudget") == 0 {
		for _, r := range Resources() {
			var total int64
			for _, n := range p.Nodes {
				total += n.Capacity[r]
			}
			frac := rapid.SampledFrom([]float64{0, 0.05, 0.3, 0.6, 0.9}).Draw(t, "budget")
			p.Options.Budget[r] = int64(frac * float64(total))
		}
	}
	classes := []Class{ClassCritical, ClassStandard, ClassBatch}
	for s := range nSvcs {
		sv := Service{Name: fmt.Sprintf("s%03d", s), Class: rapid.SampledFrom(classes).Draw(t, "class")}
		if rapid.IntRange(0, 4).Draw(t, "hasweight") == 0 {
			sv.Weight = rapid.Float64Range(0.5, 20).Draw(t, "weight")
		}
		sv.Min[CPU] = rapid.SampledFrom([]int64{0, 0, 100, 500}).Draw(t, "mincpu")
		sv.Min[Memory] = rapid.Int64Range(0, 1<<16).Draw(t, "minmem")
		if rapid.IntRange(0, 5).Draw(t, "hasmax") == 0 {
			sv.Max[CPU] = sv.Min[CPU] + rapid.Int64Range(0, 3000).Draw(t, "maxcpu")
		}
		p.Services = append(p.Services, sv)
		for n := range nNodes {
			if len(p.Bids) >= maxPl || rapid.IntRange(0, 2).Draw(t, "place") != 0 {
				continue
			}
			b := Bid{Service: sv.Name, Node: p.Nodes[n].Name, Epoch: p.Epoch, Resources: map[string]Quantiles{}}
			for _, r := range []Resource{CPU, Memory, Net} {
				if rapid.IntRange(0, 3).Draw(t, "hasres") == 0 {
					continue
				}
				scale := map[Resource]int64{CPU: 8000, Memory: 1 << 19, Net: 4000}[r]
				a := rapid.Int64Range(0, scale).Draw(t, "p50")
				bq := a + rapid.Int64Range(0, scale/2).Draw(t, "d90")
				c := bq + rapid.Int64Range(0, scale/2).Draw(t, "d99")
				qq := Quantiles{P50: a, P90: bq, P99: c}
				if rapid.Bool().Draw(t, "max") {
					qq.Max = c + rapid.Int64Range(0, scale).Draw(t, "dmax")
				}
				b.Resources[r.String()] = qq
			}
			if len(b.Resources) == 0 {
				b.Resources["cpu"] = q(100, 200, 300)
			}
			p.Bids = append(p.Bids, b)
		}
	}
	for range rapid.IntRange(0, 3).Draw(t, "boosts") {
		p.Boosts = append(p.Boosts, Boost{
			Service:    p.Services[rapid.IntRange(0, nSvcs-1).Draw(t, "bsvc")].Name,
			Factor:     rapid.Float64Range(1, 5).Draw(t, "factor"),
			StartEpoch: rapid.Uint64Range(0, 20).Draw(t, "bstart"),
			TTLEpochs:  rapid.Uint64Range(1, 10).Draw(t, "bttl"),
		})
	}
	return p
}

// gonumOptimum solves the resource LP with gonum's dense simplex in
// standard form: columns x, bound slacks, node slacks, cap slacks.
func gonumOptimum(l *resLP) (float64, error) {
	m, nN, nC := len(l.colU), len(l.nodeCap), len(l.capK)
	if m == 0 {
		return 0, nil
	}
	nB := 0
	if l.hasBudget {
		nB = 1
	}
	rows, cols := m+nN+nC+nB, 2*m+nN+nC+nB
	A := mat.NewDense(rows, cols, nil)
	b := make([]float64, rows)
	c := make([]float64, cols)
	maxV := 0.0
	for _, v := range l.colV {
		maxV = math.Max(maxV, v)
	}
	basis := make([]int, rows)
	for j := range m {
		c[j] = -l.colV[j] / maxV
		A.Set(j, j, 1)
		A.Set(j, m+j, 1)
		b[j] = float64(l.colU[j])
		A.Set(m+int(l.node[j]), j, 1)
		if k := l.colCap[j]; k >= 0 {
			A.Set(m+nN+int(k), j, 1)
		}
		if nB > 0 {
			A.Set(m+nN+nC, j, 1)
		}
		basis[j] = m + j
	}
	for n := range nN {
		A.Set(m+n, 2*m+n, 1)
		b[m+n] = float64(l.nodeCap[n])
		basis[m+n] = 2*m + n
	}
	for k := range nC {
		A.Set(m+nN+k, 2*m+nN+k, 1)
		b[m+nN+k] = float64(l.capK[k])
		basis[m+nN+k] = 2*m + nN + k
	}
	if nB > 0 {
		A.Set(m+nN+nC, 2*m+nN+nC, 1)
		b[m+nN+nC] = float64(l.budget)
		basis[m+nN+nC] = 2*m + nN + nC
	}
	opt, _, err := lp.Simplex(c, A, b, 1e-12, basis)
	return -opt * maxV, err
}

func TestPropertyMatchesGonumAndHolds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProblem(t, maxOraclePlacements)
		in, err := prepare(p, new(solveWork))
		if err != nil {
			t.Fatal(err)
		}
		order, start := in.byNode()
		in.computeFloors(order, start)
		for _, r := range Resources() {
			l := in.buildLP(r, nil, fullLP)
			if err := l.solve(0); err != nil {
				t.Fatal(err)
			}
			if l.fallback {
				t.Fatalf("%s: fallback", r)
			}
			if g := relGap(l.objective, l.bound); g > 1e-9 {
				t.Fatalf("%s: gap %g", r, g)
			}
			gl := in.buildLP(r, nil, groupedLP)
			if err := gl.solve(0); err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(gl.objective - l.objective); d > 1e-9*math.Max(math.Abs(l.objective), 1e-9) || gl.fallback {
				t.Fatalf("%s: grouped objective %.12g (fallback %v), full %.12g", r, gl.objective, gl.fallback, l.objective)
			}
			if g := relGap(gl.objective, gl.bound); g > 1e-9 {
				t.Fatalf("%s: grouped gap %g", r, g)
			}
			if len(l.colU) > maxOracleColumns {
				continue
			}
			want, err := gonumOptimum(l)
			if err != nil {
				t.Fatalf("%s: gonum: %v", r, err)
			}
			if d := math.Abs(l.objective - want); d > 1e-6*math.Max(math.Abs(want), 1e-9) {
				t.Fatalf("%s: objective %.12g, gonum %.12g (cols %d)", r, l.objective, want, len(l.colU))
			}
		}
		plan, err := Solve(p)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, in, plan)
		for _, shape := range []lpShape{fullLP, groupedLP} {
			forced, err := solveWith(p, new(solveWork), shape)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, in, forced)
			if d := math.Abs(forced.Stats.Objective - plan.Stats.Objective); d > 1e-9*math.Max(math.Abs(plan.Stats.Objective), 1e-9) {
				t.Fatalf("shape %d: objective %.12g, solve %.12g", shape, forced.Stats.Objective, plan.Stats.Objective)
			}
		}
		shuffled := shuffle(t, p)
		plan2, err := Solve(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if plan2.Hash != plan.Hash {
			t.Fatalf("shuffled input changed the hash")
		}
	})
}

// checkPlan verifies capacities, floors, bounds and share caps (a service
// above its cap only takes what no other placement on that node wanted).
func checkPlan(t *rapid.T, in *instance, plan *Plan) {
	if len(plan.Allocations) != len(in.pls) {
		t.Fatalf("%d allocations for %d placements", len(plan.Allocations), len(in.pls))
	}
	used := make([]Vec, len(in.nodes))
	svcUsed := make([]Vec, len(in.svcs))
	var cluster Vec
	for n := range in.nodes {
		for r := range NumResources {
			cluster[r] += in.capEff[n][r]
		}
	}
	// Floors are recomputed by Solve; the explanation carries them.
	for i := range in.pls {
		pl := &in.pls[i]
		a := plan.Allocations[i]
		ex := plan.Explain[i]
		for r := range NumResources {
			g := a.Get(Resource(r))
			f := ex.Resources[resourceNames[r]].Floor
			if g < f || g > max(in.rp[r][i].hi, f) || g < 0 {
				t.Fatalf("%s/%s %s: %d outside [floor %d, hi %d]", a.Service, a.Node, Resource(r), g, f, in.rp[r][i].hi)
			}
			if f < in.rp[r][i].min && len(plan.Problems) == 0 {
				t.Fatalf("%s/%s %s: floor %d below min %d with no problem reported", a.Service, a.Node, Resource(r), f, in.rp[r][i].min)
			}
			used[pl.node][r] += g
			svcUsed[pl.svc][r] += g
		}
	}
	var total Vec
	for n := range in.nodes {
		for r := range NumResources {
			if used[n][r] > in.capEff[n][r] {
				t.Fatalf("node %s %s: %d > capacity %d", in.nodes[n].Name, Resource(r), used[n][r], in.capEff[n][r])
			}
			total[r] += used[n][r]
		}
	}
	for r, b := range in.opts.Budget {
		if b > 0 && total[r] > b {
			t.Fatalf("cluster %s: %d granted > budget %d", Resource(r), total[r], b)
		}
	}
	if in.opts.ShareCap <= 0 {
		return
	}
	for s := range in.svcs {
		for r := range NumResources {
			limit := int64(float64(in.opts.ShareCap * float64(cluster[r])))
			if svcUsed[s][r] <= limit {
				continue
			}
			// Above the cap: every node it sits on must have no one else wanting more.
			var floors int64
			for i := range in.pls {
				if int(in.pls[i].svc) == s {
					floors += plan.Explain[i].Resources[resourceNames[r]].Floor
				}
			}
			var mins int64
			for i := range in.pls {
				if int(in.pls[i].svc) == s {
					mins += in.rp[r][i].min
				}
			}
			if floors > limit && floors > mins {
				t.Fatalf("service %s %s: floors %d above its share cap %d and its minimums %d", in.svcNames[s], Resource(r), floors, limit, mins)
			}
			if floors >= svcUsed[s][r] {
				continue
			}
			for i := range in.pls {
				if int(in.pls[i].svc) != s || plan.Allocations[i].Get(Resource(r)) == plan.Explain[i].Resources[resourceNames[r]].Floor {
					continue
				}
				n := in.pls[i].node
				for k := range in.pls {
					o := &in.pls[k]
					// o at its own cap competes for the spill by value.
					if o.node == n && int(o.svc) != s && plan.Allocations[k].Get(Resource(r)) < in.rp[r][k].hi && used[n][r] < in.capEff[n][r] && svcUsed[o.svc][r] < limit {
						t.Fatalf("service %s above its %s cap on node %s while %s wants more", in.svcNames[s], Resource(r), in.nodes[n].Name, in.svcNames[o.svc])
					}
				}
			}
		}
	}
}

func shuffle(t *rapid.T, p Problem) Problem {
	q := p
	q.Nodes = rapid.Permutation(p.Nodes).Draw(t, "pnodes")
	q.Services = rapid.Permutation(p.Services).Draw(t, "psvcs")
	q.Bids = rapid.Permutation(p.Bids).Draw(t, "pbids")
	q.Boosts = rapid.Permutation(p.Boosts).Draw(t, "pboosts")
	return q
}

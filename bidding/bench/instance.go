package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/allot-dev/allot/bidding"
)

// bigServices is how many services span every node with a large demand, so
// that the share caps bind.
const bigServices = 2

// Instance builds a seeded random problem: nodes with realistic capacities,
// services bidding on one node each (together their medians fill about 40%
// of a node), and two large services of weight 40 on a random 70% of the
// nodes, each with a median of about half of those nodes, so that the nodes
// are contested and the default 30% share cap binds.
func Instance(services, nodes int, seed uint64) (bidding.Problem, error) {
	if services < 1 || nodes < 1 {
		return bidding.Problem{}, fmt.Errorf("need at least one service and one node (got %d, %d)", services, nodes)
	}
	rng := rand.New(rand.NewPCG(seed, 0x616c6c6f74))
	p := bidding.Problem{Epoch: 100, Options: bidding.DefaultOptions()}
	for n := range nodes {
		p.Nodes = append(p.Nodes, bidding.Node{Name: fmt.Sprintf("node-%05d", n), Capacity: bidding.Vec{
			bidding.CPU:    int64(32+32*rng.IntN(2)) * 1000,
			bidding.Memory: int64(128+128*rng.IntN(2)) << 30,
			bidding.IO:     int64(1000) << 20,
			bidding.Net:    int64(10_000) * 1e6,
		}})
	}
	perNode := float64(max(1, services/nodes))
	classes := []bidding.Class{bidding.ClassCritical, bidding.ClassStandard, bidding.ClassStandard, bidding.ClassBatch}
	for s := range services {
		big := s < bigServices
		svc := bidding.Service{Name: fmt.Sprintf("svc-%06d", s), Class: classes[rng.IntN(len(classes))]}
		if big {
			svc.Class, svc.Weight = bidding.ClassCritical, 40
		}
		if rng.IntN(10) == 0 && !big {
			svc.Weight = float64(1 + rng.IntN(12))
		}
		p.Services = append(p.Services, svc)
		place := []int{rng.IntN(nodes)}
		share := 0.4 / perNode
		if big {
			place = place[:0]
			for n := range nodes {
				if rng.IntN(10) < 7 || n == 0 {
					place = append(place, n)
				}
			}
			share = 0.5
		}
		for _, n := range place {
			b := bidding.Bid{Service: svc.Name, Node: p.Nodes[n].Name, Epoch: p.Epoch, Resources: map[string]bidding.Quantiles{}}
			for _, r := range bidding.Resources() {
				if r >= bidding.IO && rng.IntN(2) == 0 {
					continue
				}
				c := float64(p.Nodes[n].Capacity[r])
				p50 := int64(c * share * (0.3 + 1.4*rng.Float64()))
				p90 := p50 + int64(float64(p50)*(0.2+0.4*rng.Float64()))
				p99 := p90 + int64(float64(p90)*(0.1+0.2*rng.Float64()))
				q := bidding.Quantiles{P50: p50, P90: p90, P99: p99}
				if rng.IntN(4) == 0 {
					q.Max = p99 + p99/2
				}
				if rng.IntN(3) == 0 {
					q.Min = p50 / 10
				}
				b.Resources[r.String()] = q
			}
			p.Bids = append(p.Bids, b)
		}
	}
	for k := range min(3, services) {
		p.Boosts = append(p.Boosts, bidding.Boost{Service: p.Services[rng.IntN(services)].Name,
			Factor: float64(2 + k), StartEpoch: p.Epoch - 2, TTLEpochs: 10})
	}
	return p, nil
}

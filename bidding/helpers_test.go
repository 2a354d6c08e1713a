package bidding

func q(p50, p90, p99 int64) Quantiles { return Quantiles{P50: p50, P90: p90, P99: p99} }

func cpuBid(svc, node string, qs Quantiles) Bid {
	return Bid{Service: svc, Node: node, Epoch: 1, Resources: map[string]Quantiles{"cpu": qs}}
}

func cpuNode(name string, cpu int64) Node { return Node{Name: name, Capacity: Vec{CPU: cpu}} }

func svc(name string, class Class, minCPU int64) Service {
	return Service{Name: name, Class: class, Min: Vec{CPU: minCPU}}
}

func allocOf(p *Plan, svc, node string) *Allocation {
	for i := range p.Allocations {
		if p.Allocations[i].Service == svc && p.Allocations[i].Node == node {
			return &p.Allocations[i]
		}
	}
	return nil
}

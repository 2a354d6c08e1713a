package sim

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
)

// TestIONetProbe: a service whose io or net usage sat at its limit is
// probed where its node has room (an even share of it per service at its
// limit, at least bidrule.MinIONetProbeRoom of the capacity), and the probe tells
// whether the lifted limit held it too; cpu, memory, a service under its
// limit, a zero limit and a full node are not probed.
func TestIONetProbe(t *testing.T) {
	io, net := int(bidding.IO), int(bidding.Net)
	for _, c := range []struct {
		name     string
		r        int
		demand   [2]float64 // services 0 and 1 on node 0, epoch 0
		alloc    [2]int64
		capacity int64
		v        float64
		held, ok bool
	}{
		{"at its limit, room: the demand", io, [2]float64{300, 50}, [2]int64{200, 100}, 1000, 300, false, true},
		{"at its limit, demand above the lifted limit: held", net, [2]float64{5000, 50}, [2]int64{200, 100}, 1000, 900, true, true},
		{"both at their limits share the room", io, [2]float64{5000, 5000}, [2]int64{200, 200}, 1000, 500, true, true},
		{"under its limit", io, [2]float64{150, 50}, [2]int64{200, 100}, 1000, 0, false, false},
		{"zero limit: no limit, nothing to lift", net, [2]float64{300, 50}, [2]int64{0, 100}, 1000, 0, false, false},
		{"room below 2% of the node", io, [2]float64{300, 50}, [2]int64{200, 785}, 1000, 0, false, false},
		{"room at 2% of the node", io, [2]float64{300, 50}, [2]int64{200, 780}, 1000, 220, true, true},
		{"cpu is not probed here", int(bidding.CPU), [2]float64{300, 50}, [2]int64{200, 100}, 1000, 0, false, false},
		{"memory is never probed", int(bidding.Memory), [2]float64{300, 50}, [2]int64{200, 100}, 1000, 0, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &World{Svcs: make([]Svc, 2)}
			var alloc [][nr]int64 = make([][nr]int64, 2)
			for s := range w.Svcs {
				w.Svcs[s].Has[c.r] = true
				w.Svcs[s].Demand[c.r] = []float64{c.demand[s]}
				alloc[s][c.r] = c.alloc[s]
			}
			var eff [nr]int64
			eff[c.r] = c.capacity
			p := &allotPolicy{e: &env{w: w, eff: [][nr]int64{eff}}}
			p.e.record(alloc)
			v, held, ok := p.ioNetProbe(0, 0, c.r)
			if v != c.v || held != c.held || ok != c.ok {
				t.Errorf("ioNetProbe = %v, held %v, ok %v; want %v, %v, %v", v, held, ok, c.v, c.held, c.ok)
			}
			if _, _, ok := p.ioNetProbe(1, 0, c.r); ok {
				t.Error("an epoch not yet allocated was probed")
			}
			if _, _, ok := p.ioNetProbe(-1, 0, c.r); ok {
				t.Error("an epoch before the replay was probed")
			}
		})
	}
}

// TestSees: what the client's forecaster observes of an epoch, per mode:
// under ObserveClient a cpu or memory epoch the kernel held back unprobed
// is not observed at all, a probed one is at its demand; io and net are
// their usage or the probe's reading in every mode.
func TestSees(t *testing.T) {
	cpu, mem, io := int(bidding.CPU), int(bidding.Memory), int(bidding.IO)
	for _, c := range []struct {
		name     string
		obs      string
		r        int
		demand   float64
		alloc    int64
		capacity int64
		v        float64
		ok       bool
	}{
		{"client: cpu under its quota, the demand", ObserveClient, cpu, 500, 1000, 1000, 500, true},
		{"client: cpu held back, no room: nothing", ObserveClient, cpu, 2000, 1000, 1000, 0, false},
		{"client: cpu held back, probed: the demand", ObserveClient, cpu, 2000, 1000, 2000, 2000, true},
		{"client: memory over its limit: nothing", ObserveClient, mem, 300, 200, 1000, 0, false},
		{"client: memory under it, the demand", ObserveClient, mem, 150, 200, 1000, 150, true},
		{"client: io at its limit, no room: the usage", ObserveClient, io, 500, 200, 200, 200, true},
		{"client: io at its limit, room: the probe's", ObserveClient, io, 500, 200, 1000, 500, true},
		{"demand: io as in every mode", ObserveDemand, io, 500, 200, 1000, 500, true},
		{"capped: cpu held back, the usage", ObserveCapped, cpu, 2000, 1000, 1000, 960, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &World{Svcs: make([]Svc, 1)}
			w.Svcs[0].Has[c.r] = true
			w.Svcs[0].Demand[c.r] = []float64{c.demand}
			var alloc, eff [nr]int64
			alloc[c.r], eff[c.r] = c.alloc, c.capacity
			p := &allotPolicy{e: &env{w: w, eff: [][nr]int64{eff}, obs: c.obs}}
			p.e.record([][nr]int64{alloc})
			if v, ok := p.sees(0, 0, c.r); v != c.v || ok != c.ok {
				t.Errorf("sees = %v, %v; want %v, %v", v, ok, c.v, c.ok)
			}
		})
	}
}

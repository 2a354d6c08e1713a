package sim

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func TestRead(t *testing.T) {
	cpu, mem, io, net := int(bidding.CPU), int(bidding.Memory), int(bidding.IO), int(bidding.Net)
	for _, c := range []struct {
		name    string
		r       int
		d, a    float64
		usage   float64
		pressed bool
	}{
		{"cpu under its quota", cpu, 500, 1000, 500, false},
		{"cpu just under 95% of it", cpu, 949, 1000, 949, false},
		{"cpu at 95%: throttled", cpu, 950, 1000, 950, true},
		{"cpu above: usage at 96% of the quota", cpu, 2000, 1000, 960, true},
		{"cpu zero quota: no quota", cpu, 500, 0, 500, false},
		{"memory under its limit", mem, 100, 200, 100, false},
		{"memory at its limit", mem, 200, 200, 200, false},
		{"memory over: OOM kill", mem, 300, 200, 200, true},
		{"memory zero limit: no limit", mem, 300, 0, 300, false},
		{"io under its limit", io, 100, 200, 100, false},
		{"io at 99% of it", io, 198, 200, 198, false},
		{"io over: capped, never pressed", io, 500, 200, 200, false},
		{"io zero limit: no limit", io, 500, 0, 500, false},
		{"net under its limit", net, 100, 200, 100, false},
		{"net over: capped, never pressed", net, 500, 200, 200, false},
		{"net zero limit: no limit", net, 500, 0, 500, false},
		{"net zero demand", net, 0, 200, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := read(c.r, c.d, c.a)
			if got.Usage != c.usage || got.Pressed != c.pressed {
				t.Errorf("read(%s, %v, %v) = %+v, want usage %v pressed %v", bidding.Resource(c.r), c.d, c.a, got, c.usage, c.pressed)
			}
		})
	}
}

// TestEnvReading: before the replay a controller saw the demand; during it,
// what the run's own allocation let through.
func TestEnvReading(t *testing.T) {
	w := &World{Warmup: 2, Svcs: []Svc{{}}}
	for r := range nr {
		w.Svcs[0].Has[r] = true
		w.Svcs[0].Demand[r] = []float64{300, 300, 300, 300}
	}
	e := &env{w: w}
	e.record([][nr]int64{{1000, 1000, 1000, 1000}})
	e.record([][nr]int64{{100, 100, 100, 100}})
	for _, c := range []struct {
		name    string
		r, i    int
		usage   float64
		pressed bool
	}{
		{"warm-up: the demand", int(bidding.IO), 1, 300, false},
		{"room: the demand", int(bidding.Net), 2, 300, false},
		{"io held back", int(bidding.IO), 3, 100, false},
		{"net held back", int(bidding.Net), 3, 100, false},
		{"cpu held back", int(bidding.CPU), 3, 96, true},
		{"memory held back", int(bidding.Memory), 3, 100, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := e.reading(0, c.r, c.i)
			if got.Usage != c.usage || got.Pressed != c.pressed {
				t.Errorf("reading(%s, %d) = %+v, want usage %v pressed %v", bidding.Resource(c.r), c.i, got, c.usage, c.pressed)
			}
		})
	}
}

// TestCapped: the replay serves up to the allocation — nothing under a zero
// one, where a real node (no limit) would serve the demand and a controller
// reads it (TestRead).
func TestCapped(t *testing.T) {
	for _, c := range []struct {
		name    string
		r       int
		d, a, w float64
	}{
		{"cpu: 96% of the quota", int(bidding.CPU), 2000, 1000, 960},
		{"cpu under", int(bidding.CPU), 500, 1000, 500},
		{"memory", int(bidding.Memory), 300, 200, 200},
		{"io", int(bidding.IO), 300, 200, 200},
		{"net zero allocation", int(bidding.Net), 300, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := capped(c.r, c.d, c.a); got != c.w {
				t.Errorf("capped(%s, %v, %v) = %v, want %v", bidding.Resource(c.r), c.d, c.a, got, c.w)
			}
		})
	}
}

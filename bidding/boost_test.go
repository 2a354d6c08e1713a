package bidding

import (
	"math"
	"testing"
)

func TestBoostFactorAt(t *testing.T) {
	b := Boost{Service: "a", Factor: 3, StartEpoch: 10, TTLEpochs: 4}
	tests := []struct {
		epoch uint64
		want  float64
	}{
		{9, 1}, {10, 3}, {11, 2.5}, {12, 2}, {13, 1.5}, {14, 1}, {100, 1},
	}
	for _, tc := range tests {
		if got := BoostFactorAt(b, tc.epoch); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("epoch %d: %v, want %v", tc.epoch, got, tc.want)
		}
	}
	for _, bad := range []Boost{{Factor: math.NaN(), TTLEpochs: 3}, {Factor: 0.5, TTLEpochs: 3}, {Factor: 2}, {Factor: math.Inf(1), TTLEpochs: 3}} {
		if got := BoostFactorAt(bad, 0); got != 1 {
			t.Errorf("%+v: %v, want 1", bad, got)
		}
	}
}

func TestBoostCapScalesExtraWeight(t *testing.T) {
	names := []string{"a", "b", "c"}
	base := []float64{4, 4, 2} // total 10; cap 0.3 → extra ≤ 3
	boosts := []Boost{{Service: "a", Factor: 3, TTLEpochs: 5}, {Service: "a", Factor: 2, TTLEpochs: 5}, {Service: "zz", Factor: 9, TTLEpochs: 5}}
	m := boostMultipliers(names, base, boosts, 0, 0.3)
	// a: factor 3 (largest) → extra 8, scaled to 3 → multiplier 1.75.
	if math.Abs(m[0]-1.75) > 1e-12 || m[1] != 1 || m[2] != 1 {
		t.Fatalf("multipliers %v", m)
	}
	if m := boostMultipliers(names, base, boosts, 0, 0); m[0] != 3 {
		t.Fatalf("no cap: %v", m)
	}
}

// A boost raises the boosted service's share of contested capacity but
// never takes another below its floor. (Unboosted, equal values tie and
// the tie goes by name: a wins; so boost b.)
func TestBoostNeverBreaksFloors(t *testing.T) {
	p := Problem{
		Epoch:    5,
		Nodes:    []Node{cpuNode("n1", 4000)},
		Services: []Service{svc("a", ClassStandard, 200), svc("b", ClassStandard, 200)},
		Bids:     []Bid{cpuBid("a", "n1", q(3000, 3500, 4000)), cpuBid("b", "n1", q(3000, 3500, 4000))},
	}
	before, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Boosts = []Boost{{Service: "b", Factor: 10, StartEpoch: 5, TTLEpochs: 3}}
	after, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	b0, b1 := allocOf(before, "b", "n1").CPU, allocOf(after, "b", "n1").CPU
	a1 := allocOf(after, "a", "n1").CPU
	floorA := after.Explain[0].Resources["cpu"].Floor
	if b1 <= b0 || a1 < floorA || floorA != before.Explain[0].Resources["cpu"].Floor {
		t.Fatalf("b %d→%d, a %d (floor %d, before %d)", b0, b1, a1, floorA, before.Explain[0].Resources["cpu"].Floor)
	}
	if after.Explain[1].Boost != 10 {
		t.Fatalf("boost in effect %v", after.Explain[1].Boost)
	}
}

package bidding_test

import (
	"math"
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidding/bench"
)

// The grouped LP must reach the full LP's optimum. Allocations may differ
// where the LP is degenerate (a capped service's units worth exactly what
// they would displace on several nodes), so they are not compared.
func TestGroupedMatchesFullBench(t *testing.T) {
	p, err := bench.Instance(10000, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, objs, err := bidding.CompareShapes(p)
	if err != nil {
		t.Fatal(err)
	}
	for r, o := range objs {
		if d := math.Abs(o[0] - o[1]); d > 1e-9*math.Abs(o[0]) {
			t.Errorf("%s: full objective %.17g, grouped %.17g", bidding.Resource(r), o[0], o[1])
		}
	}
}

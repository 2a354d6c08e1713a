package bench

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func BenchmarkSolve10k(b *testing.B) {
	p, err := Instance(10000, 100, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		plan, err := bidding.Solve(p)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(plan.Stats.Gap, "gap")
		b.ReportMetric(float64(plan.Stats.Iterations), "iters")
	}
}

package bidding_test

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidding/bench"
)

func benchSolve(b *testing.B, services, nodes int) {
	p, err := bench.Instance(services, nodes, 1)
	if err != nil {
		b.Fatal(err)
	}
	p.Options.SkipExplain = true
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bidding.Solve(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSolve10k(b *testing.B)  { benchSolve(b, 10000, 100) }
func BenchmarkSolve100k(b *testing.B) { benchSolve(b, 100000, 1000) }

func BenchmarkPhases100k(b *testing.B) {
	p, err := bench.Instance(100000, 1000, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range bidding.PhaseNames() {
		if name == "explain" {
			continue
		}
		b.Run(name, func(b *testing.B) {
			run := bidding.Phase(p, name)
			for b.Loop() {
				run()
			}
		})
	}
}

func BenchmarkSolverReuse10k(b *testing.B) {
	p, err := bench.Instance(10000, 100, 1)
	if err != nil {
		b.Fatal(err)
	}
	p.Options.SkipExplain = true
	var s bidding.Solver
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Solve(p); err != nil {
			b.Fatal(err)
		}
	}
}

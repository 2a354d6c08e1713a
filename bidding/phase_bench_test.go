package bidding_test

import (
	"testing"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/bidding/bench"
)

func BenchmarkPhases(b *testing.B) {
	p, err := bench.Instance(10000, 100, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range bidding.PhaseNames() {
		b.Run(name, func(b *testing.B) {
			run := bidding.Phase(p, name)
			for b.Loop() {
				run()
			}
		})
	}
}

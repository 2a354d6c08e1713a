package bidrule

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestLendWant: the epoch step's rule (LendWant) and a look's (LookWant).
func TestLendWant(t *testing.T) {
	type rule func(seen, alloc, max float64) float64
	for _, c := range []struct {
		name             string
		rule             string
		seen, alloc, max float64
		want             float64
	}{
		{"burst from rest", "LendWant", 1000, 100, 0, 1050},
		{"no limit in force", "LendWant", 200, 0, 0, 230},
		{"noise above a calibrated bid", "LendWant", 120, 100, 0, 0},
		{"just past the jump", "LendWant", 140, 100, 0, 61},
		{"capped at max", "LendWant", 1000, 100, 500, 400},
		{"at max already", "LendWant", 1000, 500, 500, 0},
		{"idle", "LendWant", 0, 100, 0, 0},
		{"burst from rest", "LookWant", 1000, 100, 0, 920},
		{"just above the limit: held there, not lent", "LookWant", 105, 100, 0, 0},
		{"past the look's jump", "LookWant", 110, 100, 0, 12},
		{"no limit in force", "LookWant", 200, 0, 0, 204},
		{"capped at max", "LookWant", 1000, 100, 500, 400},
		{"idle", "LookWant", 0, 100, 0, 0},
	} {
		f := map[string]rule{"LendWant": LendWant, "LookWant": LookWant}[c.rule]
		if got := f(c.seen, c.alloc, c.max); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("%s: %s(%v, %v, %v) = %v, want %v", c.name, c.rule, c.seen, c.alloc, c.max, got, c.want)
		}
	}
	// whatever a look lends to was held at its limit (AtLimit)
	if (1+LookJump)/(1+ProbedMargin) < AtLimit {
		t.Errorf("LookJump %v lends below AtLimit %v", LookJump, AtLimit)
	}
}

func TestLend(t *testing.T) {
	for _, c := range []struct {
		name  string
		wants []float64
		room  float64
		want  []int64
	}{
		{"all fit", []float64{100, 0, 50}, 1000, []int64{100, 0, 50}},
		{"water-filled", []float64{500, 100, 500}, 700, []int64{300, 100, 300}},
		{"no room", []float64{100}, 0, []int64{0}},
		{"negative room", []float64{100}, -5, []int64{0}},
		{"none", nil, 100, []int64{}},
	} {
		if got := Lend(c.wants, c.room); !slices.Equal(got, c.want) {
			t.Errorf("%s: Lend(%v, %v) = %v, want %v", c.name, c.wants, c.room, got, c.want)
		}
	}
}

// Lend never hands out more than the room, nor more than a service wants,
// and leaves room only when every want is met.
func TestLendProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		wants := rapid.SliceOfN(rapid.Float64Range(0, 1e6), 0, 20).Draw(t, "wants")
		room := rapid.Float64Range(0, 5e6).Draw(t, "room")
		got := Lend(wants, room)
		sum, short := 0.0, false
		for i, g := range got {
			if g < 0 || float64(g) > wants[i] {
				t.Fatalf("grant %d = %d for want %v", i, g, wants[i])
			}
			sum += float64(g)
			short = short || float64(g) < wants[i]-1
		}
		if sum > room+1e-6 {
			t.Fatalf("granted %v of room %v", sum, room)
		}
		if short && room-sum > float64(len(wants)) {
			t.Fatalf("a want short by more than a unit while %v of room is left", room-sum)
		}
	})
}

// A series whose jumps are gone the next epoch stops being lent to after
// a few; one whose jumps last keeps being lent to; an unmeasured epoch
// settles nothing.
func TestBurst(t *testing.T) {
	var spikes, bursts Burst
	lent := func(b *Burst, seen float64, jump bool) bool { return b.Step(seen, true, jump, 1) }
	if !lent(&spikes, 1000, true) || !lent(&bursts, 1000, true) {
		t.Fatal("a first jump is not lent to")
	}
	for range 3 {
		lent(&spikes, 10, false)  // gone
		lent(&spikes, 1000, true) // the next spike
		lent(&bursts, 900, false) // lasted
		lent(&bursts, 10, false)  // over
		lent(&bursts, 1000, true) // the next burst
	}
	if lent(&spikes, 1000, true) {
		t.Error("spikes gone the next epoch every time are still lent to (batch)")
	}
	if !spikes.Step(1000, true, true, 8) {
		t.Error("a critical service's spikes are no longer lent to after four: the prior still gives them 1 in 6")
	}
	if !lent(&bursts, 1000, true) {
		t.Error("bursts that last are no longer lent to")
	}
	var b Burst
	b.Step(1000, true, true, 4)
	before := b
	b.Step(0, false, false, 4)
	if b.n != before.n || b.held != before.held {
		t.Errorf("an unmeasured epoch settled a jump: %+v → %+v", before, b)
	}
}

// TestLooksServe: the default 5-minute epoch reserves less, the live
// harness's 5 s epochs and a minute do not.
func TestLooksServe(t *testing.T) {
	for _, c := range []struct {
		epoch time.Duration
		want  bool
	}{{5 * time.Minute, true}, {2 * time.Minute, true}, {time.Minute, false}, {5 * time.Second, false}, {0, false}} {
		if got := LooksServe(c.epoch); got != c.want {
			t.Errorf("LooksServe(%v) = %v (a burst waits %.3f of the epoch), want %v", c.epoch, got, LendReaction(c.epoch), c.want)
		}
	}
}

package sla

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

func TestGate(t *testing.T) {
	slow := Result{Breach: true, Reason: "probe http://x/health p99 612ms > 300ms"}
	type step struct {
		svc      string
		epoch    uint64
		probe    Result
		pressure bool
		preason  string
		ok       bool
		reason   string // exact, when ok
	}
	spec := &bidding.SLASpec{BoostFactor: 3, BoostEpochs: 2}
	for _, tc := range []struct {
		name     string
		cooldown uint64
		spec     *bidding.SLASpec
		steps    []step
	}{
		{"nothing breached", 0, nil, []step{{svc: "a", epoch: 1, probe: Result{Reason: "probe fine"}}}},
		{"probe error is no breach", 0, nil, []step{{svc: "a", epoch: 1, probe: Result{Breach: true, Err: errors.New("x")}}}},
		{"default cooldown is TTL+1", 0, nil, []step{
			{svc: "a", epoch: 10, probe: slow, ok: true, reason: "sla: probe http://x/health p99 612ms > 300ms"},
			{svc: "a", epoch: 11, probe: slow},
			{svc: "a", epoch: 13, probe: slow}, // boost of 3 epochs ran 10,11,12; 13 is within TTL+1
			{svc: "a", epoch: 14, probe: slow, ok: true, reason: "sla: probe http://x/health p99 612ms > 300ms"},
		}},
		{"one per service, others independent", 0, nil, []step{
			{svc: "a", epoch: 5, pressure: true, preason: "OOM killed 1 time", ok: true, reason: "kernel: OOM killed 1 time"},
			{svc: "b", epoch: 5, pressure: true, preason: "OOM killed 1 time", ok: true, reason: "kernel: OOM killed 1 time"},
			{svc: "a", epoch: 5, probe: slow},
		}},
		{"both reasons", 0, nil, []step{
			{svc: "a", epoch: 1, probe: slow, pressure: true, preason: "memory limit hit 2 times", ok: true,
				reason: "sla: probe http://x/health p99 612ms > 300ms; kernel: memory limit hit 2 times"},
		}},
		{"explicit cooldown", 1, nil, []step{
			{svc: "a", epoch: 1, probe: slow, ok: true, reason: "sla: " + slow.Reason},
			{svc: "a", epoch: 2, probe: slow, ok: true, reason: "sla: " + slow.Reason},
		}},
		{"spec TTL sets the default cooldown", 0, spec, []step{
			{svc: "a", epoch: 1, probe: slow, ok: true, reason: "sla: " + slow.Reason},
			{svc: "a", epoch: 3, probe: slow},
			{svc: "a", epoch: 4, probe: slow, ok: true, reason: "sla: " + slow.Reason},
		}},
		{"epoch going back forgets the record", 0, nil, []step{
			{svc: "a", epoch: 100, probe: slow, ok: true, reason: "sla: " + slow.Reason},
			{svc: "a", epoch: 3, probe: slow, ok: true, reason: "sla: " + slow.Reason},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGate()
			g.Cooldown = tc.cooldown
			for i, s := range tc.steps {
				b, ok := g.Decide(s.svc, s.epoch, s.probe, s.pressure, s.preason, tc.spec)
				if ok != s.ok {
					t.Fatalf("step %d: ok = %v, want %v (%+v)", i, ok, s.ok, b)
				}
				if !ok {
					continue
				}
				want := bidding.Boost{Service: s.svc, Factor: tc.spec.Factor(), StartEpoch: s.epoch, TTLEpochs: tc.spec.TTLEpochs(), Reason: s.reason}
				if b != want {
					t.Fatalf("step %d: %+v, want %+v", i, b, want)
				}
				if err := b.Validate(); err != nil {
					t.Fatalf("step %d: invalid boost: %v", i, err)
				}
				if last, _ := g.Last(s.svc); last != b {
					t.Fatalf("step %d: Last = %+v", i, last)
				}
			}
		})
	}
}

func TestGateDefaultsForgetAndLongReasons(t *testing.T) {
	g := NewGate()
	b, ok := g.Decide("a", 7, Result{}, true, strings.Repeat("é", 2000), nil)
	if !ok || b.Factor != 2 || b.TTLEpochs != 3 || len(b.Reason) > 1024 || !strings.HasPrefix(b.Reason, "kernel: ") {
		t.Fatalf("%v %+v", ok, b)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Decide("a", 8, Result{}, true, "again", nil); ok {
		t.Fatal("boost during cooldown")
	}
	g.Forget("a") // the submission failed
	if _, ok := g.Decide("a", 8, Result{}, true, "again", nil); !ok {
		t.Fatal("no boost after Forget")
	}
	if got := TTL(b, 5*time.Minute); got != 15*time.Minute {
		t.Fatalf("TTL %v", got)
	}
}

// The client calls Decide from one goroutine per service.
func TestGateConcurrent(t *testing.T) {
	g := NewGate()
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func() {
			n := 0
			for e := uint64(0); e < 100; e++ {
				if _, ok := g.Decide("same", e, Result{}, true, "x", nil); ok {
					n++
				}
			}
			done <- n > 0
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
}

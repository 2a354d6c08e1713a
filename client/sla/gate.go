package sla

import (
	"sync"
	"time"
	"unicode/utf8"

	"github.com/allot-dev/allot/bidding"
)

// maxReason keeps a boost's reason within what bidding.Boost.Validate takes.
const maxReason = 1024

// Gate decides whether a breach becomes a boost: at most one per service
// per cooldown, counted in epochs (no clock inside, so the same inputs give
// the same decisions). One Gate per client; safe for concurrent use.
type Gate struct {
	// Cooldown is the least number of epochs between two boosts of one
	// service. 0: the boost's own TTL + 1, i.e. never while the service's
	// previous automatic boost still runs.
	Cooldown uint64

	mu   sync.Mutex
	last map[string]bidding.Boost // per service: the last boost decided
}

// NewGate returns a Gate with the default cooldown.
func NewGate() *Gate { return &Gate{} }

// Decide turns one epoch's observations of a service into a boost, or
// none. probe is its SLA probe's result (the zero Result when it has no
// probe); a probe Err is never a breach. pressure and pressureReason are
// Pressure's answer. spec (nil: defaults) gives the factor and TTL. The
// boost's StartEpoch is epoch; its Reason starts "sla: " for a probe breach
// and "kernel: " for pressure ("sla: …; kernel: …" for both). ok is false
// when nothing breached or the service is still cooling down from its last
// boost; a true ok is recorded as that service's last boost.
func (g *Gate) Decide(service string, epoch uint64, probe Result, pressure bool, pressureReason string, spec *bidding.SLASpec) (b bidding.Boost, ok bool) {
	var reason string
	if probe.Breach && probe.Err == nil {
		reason = "sla: " + probe.Reason
	}
	if pressure {
		if reason != "" {
			reason += "; "
		}
		reason += "kernel: " + pressureReason
	}
	if reason == "" {
		return bidding.Boost{}, false
	}
	b = bidding.Boost{Service: service, Factor: spec.Factor(), StartEpoch: epoch, TTLEpochs: spec.TTLEpochs(), Reason: truncate(reason, maxReason)}
	g.mu.Lock()
	defer g.mu.Unlock()
	if prev, seen := g.last[service]; seen && epoch >= prev.StartEpoch {
		cd := g.Cooldown
		if cd == 0 {
			cd = prev.TTLEpochs + 1
		}
		if epoch-prev.StartEpoch < cd {
			return bidding.Boost{}, false
		}
	}
	// An epoch before the last boost's (a new cluster, a restored
	// snapshot) means the record is stale: it is replaced, not obeyed.
	if g.last == nil {
		g.last = map[string]bidding.Boost{}
	}
	g.last[service] = b
	return b, true
}

// Last returns the last boost the gate decided for service.
func (g *Gate) Last(service string) (bidding.Boost, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.last[service]
	return b, ok
}

// Forget drops the service's record: call it when the boost Decide
// returned could not be submitted (so the next breach may try again), or
// when the service is deregistered.
func (g *Gate) Forget(service string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.last, service)
}

// TTL is the duration to put in PUT /v1/boost's "ttl" for b, given the
// cluster's epoch length: the server turns it back into b.TTLEpochs.
func TTL(b bidding.Boost, epoch time.Duration) time.Duration {
	return time.Duration(b.TTLEpochs) * epoch
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

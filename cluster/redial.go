package cluster

import (
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Catch-up of a returning follower (see DESIGN.md, "Catch-up"). hashicorp/raft
// backs off exponentially after every failed replication RPC to a follower,
// up to 10.24 s between tries (failureWait 10 ms × 2^10, package constants),
// and resets only on a success. A follower that was down for a few seconds
// therefore waits up to 10 s after it is back before the leader even tries
// again: that, not the transfer, was most of the 7.2 s catch-up of issue 12.
//
// redialTransport keeps the failures from piling up: a replication RPC
// (an AppendEntries that is not a heartbeat) that fails because the follower
// cannot be dialled is not returned as a failure at once; the transport
// redials every RedialEvery until the follower answers, this server stops
// leading in that term, the follower leaves the configuration, or the
// server shuts down. The RPC is resent as it was (AppendEntries is
// idempotent for the follower: entries it has are kept, a stale term is
// refused), so raft sees one slow success instead of a dozen failures, and
// the follower gets its entries within RedialEvery of coming back.
// Heartbeats are left alone (their backoff is capped at half the heartbeat
// timeout already), as are errors other than a failed dial.
type redialTransport struct {
	*raft.NetworkTransport
	every time.Duration
	raft  atomic.Pointer[raft.Raft] // set once Raft is built
	stop  chan struct{}             // closed by Server.Shutdown before Raft's shutdown
}

// DefaultRedialEvery is how often a replication RPC redials a follower that
// cannot be reached.
const DefaultRedialEvery = 50 * time.Millisecond

func newRedialTransport(t *raft.NetworkTransport, every time.Duration) *redialTransport {
	if every == 0 {
		every = DefaultRedialEvery
	}
	return &redialTransport{NetworkTransport: t, every: every, stop: make(chan struct{})}
}

// AppendEntries sends the request, redialling a follower that cannot be
// dialled while keep says the request still matters.
func (t *redialTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil || isHeartbeat(args) {
		return err
	}
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	for isDialError(err) && t.keep(id, target, args.Term) {
		select {
		case <-t.stop:
			return err
		case <-tick.C:
		}
		err = t.NetworkTransport.AppendEntries(id, target, args, resp)
	}
	return err
}

// keep reports whether a replication RPC of term to id at target is still
// worth sending: this server leads in that term and id is in its
// configuration at that address (a server that came back at a new address
// is re-added there; redialling the old one would hold up its replication
// for good — seen in the e2e suite's "new IP" scenario).
func (t *redialTransport) keep(id raft.ServerID, target raft.ServerAddress, term uint64) bool {
	r := t.raft.Load()
	if r == nil || r.State() != raft.Leader || r.CurrentTerm() != term {
		return false
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	return slices.ContainsFunc(f.Configuration().Servers, func(s raft.Server) bool { return s.ID == id && s.Address == target })
}

// shutdown ends every redial loop (Raft's shutdown waits for them).
func (t *redialTransport) shutdown() {
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
}

// isHeartbeat tells raft's heartbeat (no entries, no log position, no
// commit index) from replication.
func isHeartbeat(a *raft.AppendEntriesRequest) bool {
	return len(a.Entries) == 0 && a.PrevLogEntry == 0 && a.LeaderCommitIndex == 0
}

// isDialError is a failure to connect: the request was never sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

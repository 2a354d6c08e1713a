package docker

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Backoff of the events stream's reconnection: capped jittered doubling.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
)

func newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = backoffMin, backoffMax, 0
	b.Reset()
	return b
}

// relevant are the container events after which Discover may answer
// differently (or limits may have been changed behind Allot's back).
var relevant = map[events.Action]bool{
	events.ActionStart: true, events.ActionDie: true, events.ActionStop: true,
	events.ActionDestroy: true, events.ActionUpdate: true, events.ActionPause: true,
	events.ActionUnPause: true, events.ActionRename: true, events.ActionRestart: true,
	events.ActionOOM: true,
}

// Run follows the Engine's events (containers labelled allot.service) and
// signals Changes on each relevant one, until ctx ends; it then closes
// Changes and returns ctx's error. When the stream breaks (the daemon
// restarted) it reconnects with capped jittered doubling (cenkalti/backoff) and signals a
// change once reconnected, since events were missed. The agent starts it
// in its own goroutine after New; Run is called once.
func (r *Runtime) Run(ctx context.Context) error {
	defer close(r.changes)
	bo := newBackoff()
	first := true
	for {
		if _, err := r.eng.Ping(ctx, client.PingOptions{}); err == nil {
			if !first {
				r.log.Info("reconnected to the Docker daemon's events")
				r.signal()
			}
			first = false
			started := time.Now()
			err = r.follow(ctx)
			if time.Since(started) > 10*time.Second { // it worked for a while: start the backoff afresh
				bo.Reset()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.log.Warn("the Docker events stream broke; reconnecting", "error", err)
		} else if ctx.Err() != nil {
			return ctx.Err()
		} else {
			r.log.Debug("the Docker daemon does not answer; retrying", "error", err)
			first = false
		}
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// follow reads the events stream until it fails or ctx ends.
func (r *Runtime) follow(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", LabelService)
	ev := r.eng.Events(sctx, client.EventsListOptions{Filters: f})
	for {
		select {
		case m, ok := <-ev.Messages:
			if !ok {
				return <-ev.Err
			}
			// Container events carry the container's labels as attributes:
			// another node's container changes nothing here.
			if relevant[m.Action] && forNode(m.Actor.Attributes, r.node) {
				r.signal()
			}
		case err := <-ev.Err:
			return err
		case <-sctx.Done():
			return sctx.Err()
		}
	}
}

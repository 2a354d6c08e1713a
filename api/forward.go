package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ForwardWriteTimeout bounds a write forwarded to the leader: the leader's
// own apply timeout (10 s) and a margin. The forwarding client's timeout is
// minutes long (it also carries blocking reads), so without this a write
// forwarded to a frozen leader waited far longer than any new election.
const ForwardWriteTimeout = 12 * time.Second

// errLeaderChanged is the cause of a forwarded write given up because this
// server saw another leader (or none) while it waited for the answer.
var errLeaderChanged = errors.New("the leader changed while the write was forwarded to it")

// proxyWrite forwards a write to the leader lid at addr, and gives up when
// ForwardWriteTimeout passes or this server's view of the leader changes
// (the old leader is frozen or cut off: waiting on it longer helps no one).
// A write given up may or may not have been applied, so the answer is a
// 503 that says so; it is never retried blindly here.
func (s *Server) proxyWrite(w http.ResponseWriter, r *http.Request, addr, lid string, body []byte) error {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	ctx, cancelT := context.WithTimeout(ctx, ForwardWriteTimeout)
	defer cancelT()
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, id := s.cluster.Leader(); id != lid {
					cancel(errLeaderChanged)
					return
				}
			}
		}
	}()
	err := s.proxy(w, r.WithContext(ctx), addr, body)
	if err == nil || r.Context().Err() != nil {
		return err
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errLeaderChanged):
		return &httpError{code: http.StatusServiceUnavailable, err: fmt.Errorf("%w (was %s): the write may or may not have been applied: retry", errLeaderChanged, lid)}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &httpError{code: http.StatusServiceUnavailable, err: fmt.Errorf("the leader %s did not answer a forwarded write within %s: the write may or may not have been applied: retry", lid, ForwardWriteTimeout)}
	}
	return err
}

var errTooManyInFlight = errors.New("too many requests in flight on this agent: retry shortly")

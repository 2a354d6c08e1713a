package api

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/allot-dev/allot/cluster"
)

// consistentReader is implemented by *cluster.Server: it confirms leadership
// through the log before a read (optional, so test fakes need not have it).
type consistentReader interface {
	ConsistentRead(ctx context.Context) error
}

// consistent serves the ?consistent read mode (as in Consul): the read is
// answered by the leader after it has confirmed, through a quorum, that it
// still leads and has applied everything committed. A follower forwards the
// request; a leader cut off from the majority answers 503 instead of
// possibly stale data. It returns done=true when the request was forwarded
// (the answer is written) and err when the read must be refused.
func (s *Server) consistent(w http.ResponseWriter, r *http.Request) (done bool, err error) {
	if _, ok := r.URL.Query()["consistent"]; !ok || s.cluster == nil {
		return false, nil
	}
	deadline := time.Now().Add(s.noLeader)
	for {
		if s.cluster.IsLeader() {
			cr, ok := s.cluster.(consistentReader)
			if !ok {
				return false, nil
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			err := cr.ConsistentRead(ctx)
			cancel()
			if err == nil {
				return false, nil
			}
			if !errors.Is(err, cluster.ErrNotLeader) || time.Now().After(deadline) {
				return false, fmt.Errorf("%w: consistent read refused: %v", errNoLeader, err)
			}
			continue
		}
		if !mayForward(r) {
			return false, fmt.Errorf("%w: consistent read forwarded to a server that no longer leads", errNoLeader)
		}
		if _, lid := s.cluster.Leader(); lid != "" {
			if addr := s.httpAddrOf(lid); addr != "" {
				return true, s.proxy(w, r, addr, nil)
			}
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%w: consistent read refused: no leader within %s", errNoLeader, s.noLeader)
		}
		select {
		case <-r.Context().Done():
			return false, r.Context().Err()
		case <-time.After(50*time.Millisecond + time.Duration(rand.Int64N(int64(100*time.Millisecond)))):
		}
	}
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/allot-dev/allot/gossip"
)

// diskChecker is implemented by *cluster.Server (optional for test fakes).
type diskChecker interface {
	DiskWritable() error
}

// divergenceReporter is implemented by *cluster.Server: the last state hash
// mismatch between this server and another (see cluster/DESIGN.md), "" when
// none.
type divergenceReporter interface {
	Divergence() string
}

// Health is the answer of GET /v1/health (readiness) and
// GET /v1/health/live (liveness).
type Health struct {
	Status   string   `json:"status"` // "ok", "not ready" or "live"
	Live     bool     `json:"live"`
	Ready    bool     `json:"ready"`
	Leader   bool     `json:"leader"` // a leader is known
	Index    uint64   `json:"index"`
	Degraded string   `json:"degraded,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
}

// healthLive answers 200 whenever the process serves HTTP: restart it only
// when this fails.
func (s *Server) healthLive(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, Health{Status: "live", Live: true})
}

// health answers readiness: 200 when this agent can serve what it is asked,
// 503 naming every reason it cannot (no leader; a server that has not
// applied what the leader has, or cannot write its disk; a server whose
// state diverged from another's).
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	h := Health{Live: true}
	if s.cluster == nil {
		for _, m := range s.agent.Members() {
			if m.Server && m.Status == gossip.StatusAlive {
				h.Leader = true
			}
		}
		if !h.Leader {
			h.Reasons = append(h.Reasons, "no live server known")
		}
	} else {
		h.Index = s.fsm().Index()
		_, lid := s.cluster.Leader()
		h.Leader = lid != ""
		if !h.Leader {
			h.Reasons = append(h.Reasons, "no leader")
		}
		if dc, ok := s.cluster.(diskChecker); ok {
			if err := dc.DiskWritable(); err != nil {
				h.Reasons = append(h.Reasons, err.Error())
			}
		}
		if h.Leader && !s.cluster.IsLeader() {
			if ok, why := s.caughtUp(r.Context(), lid, true, catchUpWait); !ok {
				h.Reasons = append(h.Reasons, why)
			}
		}
		if dr, ok := s.cluster.(divergenceReporter); ok {
			if d := dr.Divergence(); d != "" {
				h.Degraded = d
				h.Reasons = append(h.Reasons, "degraded: "+d)
			}
		}
	}
	h.Ready = len(h.Reasons) == 0
	if !h.Ready {
		h.Status = "not ready"
		return writeJSON(w, http.StatusServiceUnavailable, h)
	}
	h.Status = "ok"
	return writeJSON(w, http.StatusOK, h)
}

// internalIndex answers this server's applied index: followers ask the
// leader to learn whether they have caught up.
func (s *Server) internalIndex(w http.ResponseWriter, r *http.Request) error {
	if s.cluster == nil {
		return &httpError{code: http.StatusServiceUnavailable, err: errors.New("a client-only agent has no replicated state")}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"index": s.fsm().Index(), "leader": s.cluster.IsLeader()})
}

// catchUp caches the last check that this follower applied what its leader
// had: a follower re-asks at most every catchUpValid.
type catchUp struct {
	mu     sync.Mutex
	leader string
	ok     bool
	at     time.Time
	everOK bool // caught up with some leader since the agent started
}

const (
	catchUpValid = 2 * time.Second
	catchUpWait  = time.Second // a follower a few entries behind gets this long to apply them
)

// caughtUp reports whether this follower has applied everything the leader
// lid had applied when asked, waiting up to wait for it; why says what is
// missing. fresh skips the cache.
func (s *Server) caughtUp(ctx context.Context, lid string, fresh bool, wait time.Duration) (bool, string) {
	c := &s.catch
	c.mu.Lock()
	if !fresh && c.ok && c.leader == lid && time.Since(c.at) < catchUpValid {
		c.mu.Unlock()
		return true, ""
	}
	c.mu.Unlock()
	ok, why := s.probeCatchUp(ctx, lid, wait)
	c.mu.Lock()
	c.leader, c.ok, c.at = lid, ok, time.Now()
	c.everOK = c.everOK || ok
	c.mu.Unlock()
	return ok, why
}

func (s *Server) probeCatchUp(ctx context.Context, lid string, wait time.Duration) (bool, string) {
	addr := s.httpAddrOf(lid)
	if addr == "" {
		return false, fmt.Sprintf("catching up: the leader %s has no known HTTP address yet", lid)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", s.scheme+"://"+addr+"/v1/internal/index", nil)
	if err != nil {
		return false, fmt.Sprintf("catching up: asking the leader: %v", err)
	}
	req.Header.Set(headerForwarded, "1")
	resp, err := s.client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("catching up: the leader %s did not say its index: %v", lid, err)
	}
	defer resp.Body.Close()
	var out struct {
		Index uint64 `json:"index"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return false, fmt.Sprintf("catching up: the leader %s did not say its index (HTTP %d)", lid, resp.StatusCode)
	}
	f := s.fsm()
	for {
		ch := f.WatchCh()
		have := f.Index()
		if have >= out.Index {
			return true, ""
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false, fmt.Sprintf("catching up: applied index %d, the leader %s is at %d", have, lid, out.Index)
		}
	}
}

// readGate refuses a read of the replicated state that would show what a
// follower had before it caught up (a restarted server answered [] with
// index 0): it waits up to catchUpWait, then answers 503. A blocking query
// (see blockingWait) waits instead for as long as it asked to block, as
// Consul's do, and its handler then blocks only for what is left of that
// wait (the returned request carries the deadline). ?stale reads whatever
// this server has; ?consistent is checked by the handler.
func (s *Server) readGate(r *http.Request) (*http.Request, error) {
	gate := catchUpWait
	if wait, ok := blockingWait(r); ok {
		r = r.WithContext(context.WithValue(r.Context(), waitDeadlineKey{}, time.Now().Add(wait)))
		gate = max(gate, wait)
	}
	return r, s.readGateWait(r, gate)
}

// waitDeadlineKey is the request context key of the deadline readGate set
// for a blocking query (a time.Time).
type waitDeadlineKey struct{}

// blockingWait reports whether r is a blocking query (a GET with an
// index: only /v1/plan's blocking forms read one) and how long it asked to
// block (waitParam's default and cap). An index or a wait that does not
// parse is not treated as blocking: the handler answers 400.
func blockingWait(r *http.Request) (time.Duration, bool) {
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("index") == "" {
		return 0, false
	}
	if _, err := strconv.ParseUint(q.Get("index"), 10, 64); err != nil {
		return 0, false
	}
	wait, err := waitParam(q.Get("wait"))
	return wait, err == nil
}

// remainingWait is what a blocking query's handler may still block: wait,
// less what readGate spent catching up.
func remainingWait(r *http.Request, wait time.Duration) time.Duration {
	if d, ok := r.Context().Value(waitDeadlineKey{}).(time.Time); ok {
		return max(0, min(wait, time.Until(d)))
	}
	return wait
}

func (s *Server) readGateWait(r *http.Request, gate time.Duration) error {
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Has("stale") {
		return nil
	}
	if dr, ok := s.cluster.(divergenceReporter); ok {
		if d := dr.Divergence(); d != "" {
			return &httpError{code: http.StatusServiceUnavailable, err: fmt.Errorf("this server's state diverged from the leader's, so it refuses to serve it: %s (add ?stale to read it anyway)", d)}
		}
	}
	if q.Has("consistent") || s.cluster.IsLeader() {
		return nil
	}
	_, lid := s.cluster.Leader()
	if lid == "" {
		s.catch.mu.Lock()
		ever := s.catch.everOK
		s.catch.mu.Unlock()
		if ever {
			return nil // fail-static: the last caught-up state, as clients keep their plans
		}
		return &httpError{code: http.StatusServiceUnavailable, err: errors.New("this server has not caught up with a leader since it started: retry, or add ?stale to read what it has")}
	}
	if ok, why := s.caughtUp(r.Context(), lid, false, gate); !ok {
		return &httpError{code: http.StatusServiceUnavailable, err: fmt.Errorf("%s: retry, or add ?stale to read what this server has", why)}
	}
	return nil
}

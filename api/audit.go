package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/allot-dev/allot/audit"
)

// AuditLog is where the leader records each write it accepted (audit.Log).
type AuditLog interface {
	Append(audit.Record) error
	Read(since time.Time) ([]audit.Record, error)
}

// headerClient carries the caller's address on a forwarded request, so the
// leader's audit record names the caller, not the forwarding agent.
const headerClient = "X-Allot-Client"

// callerAddr is the original caller's address: the forwarded one when an
// agent forwarded the request, else the peer's.
func callerAddr(r *http.Request) string {
	if r.Header.Get(headerForwarded) != "" {
		if c := r.Header.Get(headerClient); c != "" {
			return c
		}
	}
	return clientAddr(r)
}

// recordWrite appends an accepted write to the audit log (on the leader,
// after the apply succeeded). A failure to record is logged, not returned:
// the write is committed either way.
func (s *Server) recordWrite(r *http.Request, out any) {
	if s.audit == nil {
		return
	}
	idx := s.fsm().Index()
	if m, ok := out.(map[string]any); ok {
		if i, ok := m["index"].(uint64); ok {
			idx = i
		}
	}
	rec := audit.Record{Time: time.Now().UTC(), Index: idx, Command: r.Pattern, Key: r.URL.Path, Client: callerAddr(r)}
	if tok, ok := tokenOf(r.Context()); ok {
		rec.Accessor = tok.AccessorID
	}
	if err := s.audit.Append(rec); err != nil {
		s.log.Error("audit log: recording a write failed", "command", rec.Command, "key", rec.Key, "index", rec.Index, "error", err)
	}
}

// getAudit answers this agent's audit log: ?since=RFC3339 or a duration
// back from now (1h).
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) error {
	if s.audit == nil {
		return notFound("this agent keeps no audit log (servers keep DATA_DIR/audit/%s; dev mode keeps none)", audit.File)
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			since = t
		} else {
			return badRequest("since: %.40q is neither a duration (1h) nor an RFC 3339 time", v)
		}
	}
	recs, err := s.audit.Read(since)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	w.Header().Set("X-Allot-Audit-Records", strconv.Itoa(len(recs)))
	return writeJSON(w, http.StatusOK, recs)
}

package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// HistoryPoint is one value of an imported usage history: base units
// (millicores, bytes, bytes/s, bits/s) at time T (RFC 3339).
type HistoryPoint struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// UsageHistory is the body of PUT /v1/usage/history/{service} and the
// answer of GET /v1/usage/history/{service}?node=N: what a service used on
// a node before Allot measured it, per resource, points oldest first,
// about IntervalMS apart (`allot usage import` builds it from a CSV or a
// Prometheus range query). It is replicated whole, as one command.
type UsageHistory struct {
	Service    string                    `json:"service"`
	Node       string                    `json:"node"`
	IntervalMS int64                     `json:"interval_ms"`
	Points     map[string][]HistoryPoint `json:"points"`
}

// Interval is IntervalMS as a duration.
func (h *UsageHistory) Interval() time.Duration {
	return time.Duration(h.IntervalMS) * time.Millisecond
}

// Validate checks the history on its own (what the FSM checks again
// against the state, except that the service is registered): names, an
// interval within [1 s, 1 h], known resources, at most
// fsm.MaxHistoryPoints points per resource, times strictly increasing
// within [1970, 2200), values finite within [0, bidding.MaxQuantity]. The
// error names the field (points.cpu[3].v).
func (h *UsageHistory) Validate() error {
	c := h.command()
	return fsm.ValidateUsageHistory(&c)
}

func (h *UsageHistory) command() fsm.UsageHistory {
	c := fsm.UsageHistory{Service: h.Service, Node: h.Node, IntervalMS: h.IntervalMS}
	if h.Points != nil {
		c.Points = make(map[string][]fsm.HistoryPoint, len(h.Points))
	}
	for res, pts := range h.Points {
		cp := make([]fsm.HistoryPoint, len(pts))
		for i, p := range pts {
			cp[i] = fsm.HistoryPoint{T: p.T, V: p.V}
		}
		c.Points[res] = cp
	}
	return c
}

func historyView(c fsm.UsageHistory) UsageHistory {
	h := UsageHistory{Service: c.Service, Node: c.Node, IntervalMS: c.IntervalMS, Points: make(map[string][]HistoryPoint, len(c.Points))}
	for res, pts := range c.Points {
		cp := make([]HistoryPoint, len(pts))
		for i, p := range pts {
			cp[i] = HistoryPoint{T: p.T, V: p.V}
		}
		h.Points[res] = cp
	}
	return h
}

// putHistory stores an imported usage history (PUT /v1/usage/history/{service}).
// Like PUT /v1/usage: a bid token may import only its own service.
func (s *Server) putHistory(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var h UsageHistory
	if err := decodeBody(r, &h); err != nil {
		return err
	}
	name := r.PathValue("service")
	if h.Service == "" {
		h.Service = name
	}
	if h.Service != name {
		return badRequest("service: %q in the body differs from %q in the path", h.Service, name)
	}
	if err := checkBidScope(r.Context(), []bidding.Bid{{Service: h.Service}}); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return badRequest("%v", err)
	}
	cmd := h.command()
	n := 0
	for _, pts := range cmd.Points {
		n += len(pts)
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		if err := s.fsm().ValidateHistory(cmd); err != nil {
			return nil, badRequest("%v", err)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdImportHistory, fsm.ImportHistory{History: cmd})
		if err != nil {
			return nil, fmt.Errorf("storing the usage history of %s on %s: %w", cmd.Service, cmd.Node, err)
		}
		return map[string]any{"index": idx, "points": n, "resources": slices.Sorted(maps.Keys(cmd.Points))}, nil
	})
}

// getHistory answers a placement's imported history
// (GET /v1/usage/history/{service}?node=N; 404 when there is none).
func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) error {
	name, node := r.PathValue("service"), r.URL.Query().Get("node")
	if err := bidding.ValidateName("node", node); err != nil {
		return badRequest("%v (as ?node=NAME)", err)
	}
	h, ok := s.fsm().History(name, node)
	if !ok {
		return notFound("no usage history imported for service %q on node %q", name, node)
	}
	return writeJSON(w, http.StatusOK, historyView(h))
}

// ImportHistory stores a service's usage history on a node, replacing an
// earlier import; it returns the Raft index.
func (c *Client) ImportHistory(ctx context.Context, h UsageHistory) (uint64, error) {
	var out struct {
		Index uint64 `json:"index"`
	}
	if _, err := c.Do(ctx, "PUT", "/v1/usage/history/"+url.PathEscape(h.Service), h, &out); err != nil {
		return 0, fmt.Errorf("importing the usage history of %s on %s: %w", h.Service, h.Node, err)
	}
	return out.Index, nil
}

// UsageHistory reads the imported history of (service, node) (IsNotFound
// when there is none).
func (c *Client) UsageHistory(ctx context.Context, service, node string) (UsageHistory, error) {
	var h UsageHistory
	path := "/v1/usage/history/" + url.PathEscape(service) + "?" + url.Values{"node": {node}}.Encode()
	if _, err := c.Do(ctx, "GET", path, nil, &h); err != nil {
		return UsageHistory{}, fmt.Errorf("reading the usage history of %s on %s: %w", service, node, err)
	}
	return h, nil
}

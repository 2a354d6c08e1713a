package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/allot-dev/allot/audit"
	"net/url"
	"strconv"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// Typed methods for what a node client calls, so no caller builds /v1/…
// paths by hand. Each wraps Do; errors are *Error for API answers.

// IsNotFound reports whether err is an API 404 (no such service, no plan yet).
func IsNotFound(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == 404
}

// IsForbidden reports whether err is an API 403 (token missing or not allowed).
func IsForbidden(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == 403
}

// WatchPlan is the blocking plan query: it returns the latest committed plan
// once its index is above index, or after wait with the plan as it is (the
// caller drops a plan whose index is not newer). Before the first plan it
// is a 404 (IsNotFound).
func (c *Client) WatchPlan(ctx context.Context, index uint64, wait time.Duration) (bidding.Plan, error) {
	var p bidding.Plan
	q := url.Values{"index": {strconv.FormatUint(index, 10)}, "wait": {wait.String()}}
	if _, err := c.Do(ctx, "GET", "/v1/plan?"+q.Encode(), nil, &p); err != nil {
		return bidding.Plan{}, fmt.Errorf("watching plans after index %d: %w", index, err)
	}
	return p, nil
}

// WatchNodePlan is the blocking query for one node's slice of the plan
// (GET /v1/plan?node=…&index=…&wait=…&epochs=true): it returns once a plan
// newer than index is committed, or after wait. index is the Index of the
// last slice the caller saw (0: none). When the node's allocations are the
// same as in that slice, the answer is a stub: Unchanged is set, NodeHash
// is the caller's, Epoch, Index, InputIndex, Created and Hash are the new
// plan's, and Allocations, Nodes and Stats are empty (the caller keeps its
// own). Before the first plan, or for a node the servers do not know, it
// is a 404 (IsNotFound).
func (c *Client) WatchNodePlan(ctx context.Context, node string, index uint64, wait time.Duration) (bidding.Plan, error) {
	var p bidding.Plan
	q := url.Values{"node": {node}, "index": {strconv.FormatUint(index, 10)}, "wait": {wait.String()}, "epochs": {"true"}}
	if _, err := c.Do(ctx, "GET", "/v1/plan?"+q.Encode(), nil, &p); err != nil {
		return bidding.Plan{}, fmt.Errorf("watching node %s's plan after index %d: %w", node, index, err)
	}
	return p, nil
}

// PutBids submits bids in one request and returns the Raft index.
func (c *Client) PutBids(ctx context.Context, bids []bidding.Bid) (uint64, error) {
	var out struct {
		Index uint64 `json:"index"`
	}
	if _, err := c.Do(ctx, "PUT", "/v1/bids", bids, &out); err != nil {
		return 0, fmt.Errorf("submitting %d bids: %w", len(bids), err)
	}
	return out.Index, nil
}

// PutUsage reports what a node's services used during one epoch.
func (c *Client) PutUsage(ctx context.Context, rep fsm.UsageReport) error {
	if _, err := c.Do(ctx, "PUT", "/v1/usage", rep, nil); err != nil {
		return fmt.Errorf("reporting usage of epoch %d: %w", rep.Epoch, err)
	}
	return nil
}

// Settings reads the cluster's replicated settings (epoch length, solver options).
func (c *Client) Settings(ctx context.Context) (fsm.Settings, error) {
	var st fsm.Settings
	if _, err := c.Do(ctx, "GET", "/v1/settings", nil, &st); err != nil {
		return fsm.Settings{}, fmt.Errorf("reading the cluster's settings: %w", err)
	}
	return st, nil
}

// Regressors reads the stored values of the named external regressors.
func (c *Client) Regressors(ctx context.Context, names []string) (map[string][]fsm.RegressorPoint, error) {
	var v RegressorsView
	if _, err := c.Do(ctx, "GET", "/v1/regressors?"+url.Values{"name": names}.Encode(), nil, &v); err != nil {
		return nil, fmt.Errorf("reading regressors %v: %w", names, err)
	}
	return v.Regressors, nil
}

// Service reads one registered service (IsNotFound when it is not registered).
func (c *Client) Service(ctx context.Context, name string) (ServiceView, error) {
	var v ServiceView
	if _, err := c.Do(ctx, "GET", "/v1/service/"+url.PathEscape(name), nil, &v); err != nil {
		return ServiceView{}, fmt.Errorf("reading service %s: %w", name, err)
	}
	return v, nil
}

// Services lists the registered services with their current allocations.
func (c *Client) Services(ctx context.Context) ([]ServiceView, error) {
	var v []ServiceView
	if _, err := c.Do(ctx, "GET", "/v1/services", nil, &v); err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	return v, nil
}

// RegisterService registers (or replaces) a service definition.
func (c *Client) RegisterService(ctx context.Context, s bidding.Service) error {
	if _, err := c.Do(ctx, "PUT", "/v1/service/"+url.PathEscape(s.Name), s, nil); err != nil {
		return fmt.Errorf("registering service %s: %w", s.Name, err)
	}
	return nil
}

// Boost raises a service's weight for a bounded time.
func (c *Client) Boost(ctx context.Context, service string, b BoostRequest) error {
	if _, err := c.Do(ctx, "PUT", "/v1/boost/"+url.PathEscape(service), b, nil); err != nil {
		return fmt.Errorf("boosting service %s: %w", service, err)
	}
	return nil
}

// Explain says why a service got what it got in the latest plan (served by
// the leader; 503 until a new leader has solved once).
func (c *Client) Explain(ctx context.Context, service string) (ExplainView, error) {
	var v ExplainView
	if _, err := c.Do(ctx, "GET", "/v1/plan/explain/"+url.PathEscape(service), nil, &v); err != nil {
		return ExplainView{}, fmt.Errorf("explaining service %s: %w", service, err)
	}
	return v, nil
}

// Boosts lists the boosts in force.
func (c *Client) Boosts(ctx context.Context) ([]bidding.Boost, error) {
	var v []bidding.Boost
	if _, err := c.Do(ctx, "GET", "/v1/boosts", nil, &v); err != nil {
		return nil, fmt.Errorf("listing boosts: %w", err)
	}
	return v, nil
}

// Audit reads the agent's audit log of accepted writes; since is "" (all),
// a duration back from now ("1h") or an RFC 3339 time.
func (c *Client) Audit(ctx context.Context, since string) ([]audit.Record, error) {
	var v []audit.Record
	path := "/v1/audit"
	if since != "" {
		path += "?" + url.Values{"since": {since}}.Encode()
	}
	if _, err := c.Do(ctx, "GET", path, nil, &v); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return v, nil
}

package api

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
)

// Typed methods for what the operator CLI calls (cmd/allot), so no command
// builds /v1/… paths by hand. Each wraps Do; errors are *Error for API
// answers, wrapped with what was being done.

// LeaderView is GET /v1/status/leader.
type LeaderView struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// WriteResult is the answer of a write that returns only its Raft index.
type WriteResult struct {
	Index uint64 `json:"index"`
}

// BidsResult is the answer of PUT /v1/bids.
type BidsResult struct {
	Index uint64 `json:"index"`
	Bids  int    `json:"bids"`
}

// BoostResult is the answer of PUT /v1/boost/{service}.
type BoostResult struct {
	Index uint64        `json:"index"`
	Boost bidding.Boost `json:"boost"`
}

// RegisterResult is the answer of PUT /v1/service/{name}.
type RegisterResult struct {
	Index   uint64 `json:"index"`
	Service string `json:"service"`
}

// Leader asks who leads the Raft group.
func (c *Client) Leader(ctx context.Context) (LeaderView, error) {
	var v LeaderView
	if _, err := c.Do(ctx, "GET", "/v1/status/leader", nil, &v); err != nil {
		return LeaderView{}, fmt.Errorf("asking for the leader: %w", err)
	}
	return v, nil
}

// Peers reads the Raft configuration.
func (c *Client) Peers(ctx context.Context) ([]cluster.Peer, error) {
	var v []cluster.Peer
	if _, err := c.Do(ctx, "GET", "/v1/status/peers", nil, &v); err != nil {
		return nil, fmt.Errorf("reading the Raft configuration: %w", err)
	}
	return v, nil
}

// Members lists the gossip members the agent knows.
func (c *Client) Members(ctx context.Context) ([]MemberView, error) {
	var v []MemberView
	if _, err := c.Do(ctx, "GET", "/v1/agent/members", nil, &v); err != nil {
		return nil, fmt.Errorf("listing members: %w", err)
	}
	return v, nil
}

// Join asks the agent to join the gossip pool through addrs; it returns how
// many nodes were contacted.
func (c *Client) Join(ctx context.Context, addrs []string) (int, error) {
	var v struct {
		Joined int `json:"joined"`
	}
	if _, err := c.Do(ctx, "PUT", "/v1/agent/join?"+url.Values{"address": addrs}.Encode(), nil, &v); err != nil {
		return 0, fmt.Errorf("joining %v: %w", addrs, err)
	}
	return v.Joined, nil
}

// Leave asks the agent to leave the cluster gracefully and exit.
func (c *Client) Leave(ctx context.Context) error {
	if _, err := c.Do(ctx, "PUT", "/v1/agent/leave", nil, nil); err != nil {
		return fmt.Errorf("leaving: %w", err)
	}
	return nil
}

// RemovePeer removes a server (by ID or node name) from the Raft configuration.
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	if _, err := c.Do(ctx, "DELETE", "/v1/operator/raft/peer?"+url.Values{"id": {id}}.Encode(), nil, nil); err != nil {
		return fmt.Errorf("removing peer %s: %w", id, err)
	}
	return nil
}

// Health is the agent's readiness: an *Error with code 503 when it is not
// ready (no leader, behind, degraded).
func (c *Client) Health(ctx context.Context) (Health, error) {
	var v Health
	if _, err := c.Do(ctx, "GET", "/v1/health", nil, &v); err != nil {
		return Health{}, fmt.Errorf("checking health: %w", err)
	}
	return v, nil
}

// Plan reads the committed plan of epoch (0: the latest); IsNotFound
// before the first plan or for an epoch no longer kept.
func (c *Client) Plan(ctx context.Context, epoch uint64) (bidding.Plan, error) {
	var p bidding.Plan
	path := "/v1/plan"
	if epoch > 0 {
		path += "?" + url.Values{"epoch": {strconv.FormatUint(epoch, 10)}}.Encode()
	}
	if _, err := c.Do(ctx, "GET", path, nil, &p); err != nil {
		if epoch > 0 {
			return bidding.Plan{}, fmt.Errorf("reading the plan of epoch %d: %w", epoch, err)
		}
		return bidding.Plan{}, fmt.Errorf("reading the latest plan: %w", err)
	}
	return p, nil
}

// PutService registers (or replaces) a service and returns the answer.
func (c *Client) PutService(ctx context.Context, s bidding.Service) (RegisterResult, error) {
	var v RegisterResult
	if _, err := c.Do(ctx, "PUT", "/v1/service/"+url.PathEscape(s.Name), s, &v); err != nil {
		return RegisterResult{}, fmt.Errorf("registering %s: %w", s.Name, err)
	}
	return v, nil
}

// DeregisterService removes a service from the registry.
func (c *Client) DeregisterService(ctx context.Context, name string) (uint64, error) {
	var v WriteResult
	if _, err := c.Do(ctx, "DELETE", "/v1/service/"+url.PathEscape(name), nil, &v); err != nil {
		return 0, fmt.Errorf("deregistering %s: %w", name, err)
	}
	return v.Index, nil
}

// PutBidsJSON submits bids as the caller wrote them (one JSON bid or an
// array), so the server checks the document itself (unknown fields, a
// missing epoch: the next one).
func (c *Client) PutBidsJSON(ctx context.Context, doc []byte) (BidsResult, error) {
	var v BidsResult
	if _, err := c.Do(ctx, "PUT", "/v1/bids", doc, &v); err != nil {
		return BidsResult{}, fmt.Errorf("submitting bids: %w", err)
	}
	return v, nil
}

// SetBoost raises a service's weight and returns the boost as stored.
func (c *Client) SetBoost(ctx context.Context, service string, b BoostRequest) (BoostResult, error) {
	var v BoostResult
	if _, err := c.Do(ctx, "PUT", "/v1/boost/"+url.PathEscape(service), b, &v); err != nil {
		return BoostResult{}, fmt.Errorf("boosting %s: %w", service, err)
	}
	return v, nil
}

// ClearBoost removes a service's boost.
func (c *Client) ClearBoost(ctx context.Context, service string) (uint64, error) {
	var v WriteResult
	if _, err := c.Do(ctx, "DELETE", "/v1/boost/"+url.PathEscape(service), nil, &v); err != nil {
		return 0, fmt.Errorf("clearing the boost of %s: %w", service, err)
	}
	return v.Index, nil
}

// Forecast reads a service's forecasts against its actual usage.
func (c *Client) Forecast(ctx context.Context, service string) (ForecastView, error) {
	var v ForecastView
	if _, err := c.Do(ctx, "GET", "/v1/forecast/"+url.PathEscape(service), nil, &v); err != nil {
		return ForecastView{}, fmt.Errorf("reading the forecasts of %s: %w", service, err)
	}
	return v, nil
}

// ACLBootstrap creates the first operator token (once per cluster).
func (c *Client) ACLBootstrap(ctx context.Context) (ACLTokenView, error) {
	var v ACLTokenView
	if _, err := c.Do(ctx, "PUT", "/v1/acl/bootstrap", nil, &v); err != nil {
		return ACLTokenView{}, fmt.Errorf("bootstrapping ACLs: %w", err)
	}
	return v, nil
}

// ACLCreateToken creates a token; its SecretID is in the answer only.
func (c *Client) ACLCreateToken(ctx context.Context, req ACLTokenRequest) (ACLTokenView, error) {
	var v ACLTokenView
	if _, err := c.Do(ctx, "PUT", "/v1/acl/token", req, &v); err != nil {
		return ACLTokenView{}, fmt.Errorf("creating a %s token: %w", req.Policy, err)
	}
	return v, nil
}

// ACLTokens lists the tokens (accessors, never secrets).
func (c *Client) ACLTokens(ctx context.Context) ([]ACLTokenView, error) {
	var v []ACLTokenView
	if _, err := c.Do(ctx, "GET", "/v1/acl/tokens", nil, &v); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return v, nil
}

// ACLTokenSelf reads the caller's own token.
func (c *Client) ACLTokenSelf(ctx context.Context) (ACLTokenView, error) {
	var v ACLTokenView
	if _, err := c.Do(ctx, "GET", "/v1/acl/token/self", nil, &v); err != nil {
		return ACLTokenView{}, fmt.Errorf("reading this token: %w", err)
	}
	return v, nil
}

// ACLDeleteToken deletes a token by its accessor ID.
func (c *Client) ACLDeleteToken(ctx context.Context, accessor string) (uint64, error) {
	var v WriteResult
	if _, err := c.Do(ctx, "DELETE", "/v1/acl/token/"+url.PathEscape(accessor), nil, &v); err != nil {
		return 0, fmt.Errorf("deleting token %s: %w", accessor, err)
	}
	return v.Index, nil
}

package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/allot-dev/allot/api"
)

// localAPI is LocalClient carrying this agent's own ACL token
// (acl.tokens.agent): what its client loop and registry reads send.
func (a *Agent) localAPI() *api.Client {
	c := a.LocalClient()
	c.Token = a.cfg.ACLAgentToken
	return c
}

// peerAPI is peerClient carrying the token of the request this call is made
// for (an operator's `allot leave`), else the agent's own token.
func (a *Agent) peerAPI(ctx context.Context, addr string) *api.Client {
	c := a.peerClient(addr)
	c.Token = api.CallerToken(ctx)
	if c.Token == "" {
		c.Token = a.cfg.ACLAgentToken
	}
	return c
}

// devBootstrapACL bootstraps the ACLs of a --dev agent (its state is in
// memory, so every start is a first start), prints the operator token, and
// makes it the agent's own token so the node client can bid.
func (a *Agent) devBootstrapACL(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := a.LocalClient()
	for {
		var t api.ACLTokenView
		_, err := c.Do(ctx, "PUT", "/v1/acl/bootstrap", nil, &t)
		if err == nil {
			a.cfg.ACLAgentToken = t.SecretID
			fmt.Fprintf(a.out, "ACLs are on. Operator token (bootstrap): SecretID %s  AccessorID %s\n  export ALLOT_TOKEN=%s\n", t.SecretID, t.AccessorID, t.SecretID)
			return nil
		}
		var ae *api.Error
		if errors.As(err, &ae) && ae.Code != http.StatusServiceUnavailable {
			return fmt.Errorf("bootstrapping ACLs of the dev agent: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bootstrapping ACLs of the dev agent: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

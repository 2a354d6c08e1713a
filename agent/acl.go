package agent

import (
	"context"

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

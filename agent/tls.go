package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/config"
	"github.com/allot-dev/allot/tlsutil"
)

// agentTLS is this agent's mutual TLS material: the loaded files and the
// HTTP clients it uses for other agents (verified as servers) and for its
// own API (verified as localhost, which every certificate names). One
// client each, so connections are pooled, not opened per call.
type agentTLS struct {
	certs   *tlsutil.Certs
	forward *tls.Config // to servers: the API's forwarding, Raft probes, leave
	peer    *http.Client
	local   *http.Client
}

func newAgentTLS(cfg *config.Config) (*agentTLS, error) {
	if !cfg.TLSEnabled() {
		return nil, nil
	}
	certs, err := tlsutil.Load(cfg.TLSFiles())
	if err != nil {
		return nil, fmt.Errorf("loading TLS files: %w", err)
	}
	fwd := certs.ClientConfig(tlsutil.ServerName)
	return &agentTLS{certs: certs, forward: fwd, peer: api.HTTPClient(fwd),
		local: api.HTTPClient(certs.ClientConfig("localhost"))}, nil
}

// peerClient is an API client for another agent that is a server.
func (a *Agent) peerClient(addr string) *api.Client {
	if a.tls == nil {
		return api.NewClient(addr, "")
	}
	return &api.Client{Addr: addr, HTTP: a.tls.peer, HTTPS: true}
}

// LocalClient is an API client for this agent's own API (after Run has
// bound it): plain HTTP, or HTTPS with the agent's certificate.
func (a *Agent) LocalClient() *api.Client {
	if a.tls == nil {
		return api.NewClient(a.HTTPAddr(), "")
	}
	return &api.Client{Addr: a.HTTPAddr(), HTTP: a.tls.local, HTTPS: true}
}

// Scheme is "https" when the API serves mutual TLS, else "http".
func (a *Agent) Scheme() string {
	if a.tls != nil {
		return "https"
	}
	return "http"
}

// reloadOnHUP reloads the TLS CA, certificate and key on SIGHUP until ctx
// ends: a rotated certificate or CA bundle without a restart, for the API,
// Raft and forwarding alike (every tls.Config takes the current files at
// each handshake). Without TLS a SIGHUP is logged and ignored rather than
// ending the agent.
func (a *Agent) reloadOnHUP(ctx context.Context, ch <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		if a.tls == nil {
			a.log.Info("SIGHUP: no TLS certificate to reload")
			continue
		}
		if err := a.tls.certs.Reload(); err != nil {
			a.log.Error("SIGHUP: reloading the TLS files failed; keeping the CA and certificate in use", "error", err)
			continue
		}
		a.log.Info("SIGHUP: reloaded the TLS CA and certificate", "ca_file", a.tls.certs.Files.CA, "cert_file", a.tls.certs.Files.Cert)
	}
}

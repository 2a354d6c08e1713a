package api

import (
	"fmt"
	"net/http"
	"strings"
)

// scope says where a route is served.
type scope int

const (
	scopeLocal  scope = iota // on this agent
	scopeServer              // needs the replicated state: here on a server, forwarded from a client-only agent
	scopeStatic              // a plain http.Handler (UI, redirect, catch-all)
)

// route is one row of the API's only route table: the mux pattern, where it
// is served, what the caller's token must allow, and the handler. The ACL
// check, the mux and the documentation all come from these rows, so they
// cannot disagree (they were three lists).
type route struct {
	pattern string
	scope   scope
	access  access
	h       handler
	static  http.Handler
}

func (s *Server) routeTable() []route {
	return []route{
		// Health checks, the bootstrap question servers ask each other before
		// Raft exists, the static UI page, the catch-all 404 and the one-time
		// ACL bootstrap stay open (as in Consul).
		{pattern: "GET /v1/health", scope: scopeLocal, access: accessOpen, h: s.health},
		{pattern: "GET /v1/health/live", scope: scopeLocal, access: accessOpen, h: s.healthLive},
		{pattern: "GET /v1/internal/raft-configured", scope: scopeLocal, access: accessOpen, h: s.raftConfigured},
		{pattern: "GET /v1/internal/index", scope: scopeLocal, access: accessOpen, h: s.internalIndex},
		{pattern: "GET /v1/status/leader", scope: scopeLocal, access: accessRead, h: s.statusLeader},
		{pattern: "GET /v1/status/peers", scope: scopeLocal, access: accessRead, h: s.statusPeers},
		{pattern: "GET /v1/status/raft", scope: scopeLocal, access: accessRead, h: s.statusRaft},
		{pattern: "GET /v1/agent/self", scope: scopeLocal, access: accessRead, h: s.agentSelf},
		{pattern: "GET /v1/agent/members", scope: scopeLocal, access: accessRead, h: s.agentMembers},
		{pattern: "PUT /v1/agent/join", scope: scopeLocal, access: accessOperator, h: s.agentJoin},
		{pattern: "PUT /v1/agent/leave", scope: scopeLocal, access: accessOperator, h: s.agentLeave},
		{pattern: "GET /v1/services", scope: scopeServer, access: accessRead, h: s.listServices},
		{pattern: "GET /v1/service/{name}", scope: scopeServer, access: accessRead, h: s.getService},
		{pattern: "PUT /v1/service/{name}", scope: scopeServer, access: accessOperator, h: s.putService},
		{pattern: "DELETE /v1/service/{name}", scope: scopeServer, access: accessOperator, h: s.deleteService},
		{pattern: "GET /v1/bids", scope: scopeServer, access: accessRead, h: s.listBids},
		{pattern: "PUT /v1/bids", scope: scopeServer, access: accessBid, h: s.putBids},
		{pattern: "GET /v1/plan", scope: scopeServer, access: accessRead, h: s.getPlan},
		{pattern: "GET /v1/plan/explain/{service}", scope: scopeServer, access: accessRead, h: s.explain},
		{pattern: "GET /v1/plan/history/{service}", scope: scopeServer, access: accessRead, h: s.getAllocationHistory},
		{pattern: "GET /v1/boosts", scope: scopeServer, access: accessRead, h: s.listBoosts},
		{pattern: "PUT /v1/boost/{service}", scope: scopeServer, access: accessOperator, h: s.putBoost},
		{pattern: "DELETE /v1/boost/{service}", scope: scopeServer, access: accessOperator, h: s.deleteBoost},
		{pattern: "GET /v1/nodes", scope: scopeServer, access: accessRead, h: s.listNodes},
		{pattern: "GET /v1/settings", scope: scopeServer, access: accessRead, h: s.getSettings},
		{pattern: "PUT /v1/usage", scope: scopeServer, access: accessBid, h: s.putUsage},
		{pattern: "GET /v1/forecast/{service}", scope: scopeServer, access: accessRead, h: s.getForecast},
		{pattern: "GET /v1/usage/history/{service}", scope: scopeServer, access: accessRead, h: s.getHistory},
		{pattern: "PUT /v1/usage/history/{service}", scope: scopeServer, access: accessBid, h: s.putHistory},
		{pattern: "GET /v1/regressors", scope: scopeServer, access: accessRead, h: s.getRegressors},
		{pattern: "PUT /v1/regressors", scope: scopeServer, access: accessOperator, h: s.putRegressors},
		{pattern: "DELETE /v1/operator/raft/peer", scope: scopeServer, access: accessOperator, h: s.removePeer},
		{pattern: "PUT /v1/acl/bootstrap", scope: scopeServer, access: accessOpen, h: s.aclBootstrap},
		{pattern: "PUT /v1/acl/token", scope: scopeServer, access: accessOperator, h: s.aclCreateToken},
		{pattern: "GET /v1/acl/tokens", scope: scopeServer, access: accessOperator, h: s.aclListTokens},
		{pattern: "GET /v1/acl/token/self", scope: scopeServer, access: accessAnyToken, h: s.aclTokenSelf},
		{pattern: "DELETE /v1/acl/token/{accessor}", scope: scopeServer, access: accessOperator, h: s.aclDeleteToken},
		{pattern: "GET /v1/audit", scope: scopeLocal, access: accessOperator, h: s.getAudit},
		{pattern: "GET /metrics", scope: scopeLocal, access: accessRead, h: s.serveMetrics},
		{pattern: "GET /ui/", scope: scopeStatic, access: accessOpen, static: uiHandler()},
		{pattern: "GET /{$}", scope: scopeStatic, access: accessOpen, static: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/ui/", http.StatusFound)
		})},
		{pattern: "/", scope: scopeStatic, access: accessOpen, static: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeErr(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
		})},
	}
}

// register puts the table (and the agent's extra handlers, which need read
// for GET and operator otherwise) on the mux and into the access map.
func (s *Server) register(extra map[string]http.Handler) {
	s.access = map[string]access{}
	for _, rt := range s.routeTable() {
		s.access[rt.pattern] = rt.access
		switch rt.scope {
		case scopeLocal:
			s.mux.HandleFunc(rt.pattern, s.local(rt.h))
		case scopeServer:
			s.mux.HandleFunc(rt.pattern, s.server(rt.h))
		case scopeStatic:
			s.mux.Handle(rt.pattern, rt.static)
		}
	}
	for pattern, h := range extra {
		s.mux.Handle(pattern, h)
	}
}

// accessFor is what a mux pattern needs. A pattern not in the table (an
// extra handler) needs read for GET and operator for anything else, so a
// route added later is closed to read and bid tokens until someone opens it.
func (s *Server) accessFor(pattern string) access {
	if a, ok := s.access[pattern]; ok {
		return a
	}
	if strings.HasPrefix(pattern, "GET ") {
		return accessRead
	}
	return accessOperator
}

// Package api is Allot's HTTP API (JSON over HTTP, the contract's paths) and
// the Go client the CLI uses. Handlers validate input and answer 4xx for bad
// input; writes reaching a follower are forwarded to the leader.
package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/metrics"
	"github.com/hashicorp/go-hclog"
)

// MaxBody is the largest request body accepted.
const MaxBody = 4 << 20

// Cluster is what the API needs from a server (nil on a client-only agent).
type Cluster interface {
	IsLeader() bool
	Leader() (addr, id string)
	Peers() ([]cluster.Peer, error)
	Apply(ctx context.Context, t fsm.CommandType, payload any) (uint64, error)
	RemovePeer(ctx context.Context, id string) error
	HasConfiguration() bool
	FSM() *fsm.FSM
	Stats() map[string]string
}

// Agent is what the API needs from the local agent.
type Agent interface {
	Self() Self
	Members() []gossip.Member
	Join(addrs []string) (int, error)
	Leave(ctx context.Context) error
}

// Self describes the local agent.
type Self struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Server     bool   `json:"server"`
	Client     bool   `json:"client"`
	HTTPAddr   string `json:"http_addr"`
	RaftAddr   string `json:"raft_addr,omitempty"`
	GossipAddr string `json:"gossip_addr"`
	Version    string `json:"version"`
	Dev        bool   `json:"dev,omitempty"`
	Enforce    string `json:"enforce,omitempty"`
}

// Server serves the HTTP API.
type Server struct {
	cluster  Cluster // nil on a client-only agent
	agent    Agent
	log      hclog.Logger
	epoch    func() time.Duration
	mux      *http.ServeMux
	client   *http.Client
	scheme   string // of forwarded requests: "http", or "https" with ForwardTLS
	metrics  *metrics.Registry
	noLeader time.Duration // how long a write waits for a leader before 503
	extra    map[string]http.Handler
	slices   sliceCache        // per-node slices of recent plans (slice.go)
	acl      bool              // every request but the open ones needs a token (see acl.go)
	inFlight inFlight          // nil: no cap
	access   map[string]access // by mux pattern, from the route table (routes.go)
	catch    catchUp           // has this follower caught up with its leader (health.go)
	rates    *limiters         // per token, or per client address (ratelimit.go); nil: none
	authFail *limiters         // failed authentications per client address
	authLog  *authLog
	audit    AuditLog // nil: none
	// lastServer is the HTTP address of the server a client-only agent
	// last forwarded to successfully.
	lastServer atomic.Value
}

// Options configure the API server.
type Options struct {
	Cluster       Cluster
	Agent         Agent
	Logger        hclog.Logger
	NoLeaderWait  time.Duration
	ExtraHandlers map[string]http.Handler // e.g. "GET /v1/debug/x"
	// ForwardTLS, when set, makes forwarding to other agents use HTTPS with
	// this configuration (the agent's certificate; servers verified as
	// tlsutil.ServerName). Every agent of a TLS cluster serves HTTPS.
	ForwardTLS *tls.Config
	// ACLEnabled makes every endpoint but the open ones (acl.go) check the
	// X-Allot-Token. Every agent of a cluster must have the same setting.
	ACLEnabled bool
	// MaxInFlight caps the requests served at once (0: no cap); see Limits.
	MaxInFlight int
	// Rate and Burst limit requests per token (per client address when
	// ACLs are off or no token is needed); 0: no limit. Failed
	// authentications are always limited (FailedAuthRate).
	Rate  float64
	Burst int
	// FailedAuthRate and FailedAuthBurst limit missing or unknown tokens
	// per client address; past them the address gets 429 before its token
	// is looked at (0: no limit; the agent sets FailedAuthRate/Burst).
	FailedAuthRate  float64
	FailedAuthBurst int
	// Audit, when set, records every write this agent accepts as leader.
	Audit AuditLog
	// Metrics is the agent's registry (nil: a private one). The API adds
	// its HTTP families and, on a server, the cluster collector to it.
	Metrics *metrics.Registry
}

// NewServer builds the handler tree.
func NewServer(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	s := &Server{cluster: o.Cluster, agent: o.Agent, log: log.Named("http"), mux: http.NewServeMux(),
		client: forwardClient(o.ForwardTLS), metrics: o.Metrics, noLeader: o.NoLeaderWait, scheme: "http"}
	if o.ForwardTLS != nil {
		s.scheme = "https"
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.cluster != nil {
		if err := s.metrics.Register(metrics.NewClusterCollector(clusterSource{s})); err != nil {
			s.log.Error("cluster metrics not registered", "error", err)
		}
	}
	if s.noLeader == 0 {
		s.noLeader = 5 * time.Second
	}
	s.acl = o.ACLEnabled
	s.rates = newLimiters(o.Rate, o.Burst)
	s.authFail = newLimiters(o.FailedAuthRate, o.FailedAuthBurst)
	s.authLog = newAuthLog(s.log)
	s.audit = o.Audit
	if o.MaxInFlight > 0 {
		s.inFlight = make(inFlight, o.MaxInFlight)
	}
	s.register(o.ExtraHandlers)
	return s
}

// forwardClient is the HTTP client for forwarding to the leader or a server:
// long enough for blocking queries, but a peer that cannot be reached (dead,
// or cut off by a partition) fails the dial within a second instead of
// holding the request until the caller gives up.
func forwardClient(tc *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tc != nil {
		tr.TLSClientConfig = tc
	}
	tr.DialContext = (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext
	// A follower forwards every client's writes to the leader: keep enough
	// idle connections (the default keeps 2, and the rest dial per request).
	tr.MaxIdleConnsPerHost = 128
	tr.ResponseHeaderTimeout = 6 * time.Minute
	return &http.Client{Timeout: 6 * time.Minute, Transport: tr}
}

// Metrics is the registry the API counts into.
func (s *Server) Metrics() *metrics.Registry { return s.metrics }

// ServeHTTP adds the index headers, a 405 for known paths with the wrong
// method, and turns a handler panic into a 500 with the error logged.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	pattern := ""
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "path", r.URL.Path, "panic", p)
			writeErr(rec, http.StatusInternalServerError, fmt.Errorf("internal error"))
		}
		s.metrics.ObserveHTTP(r.Method, routeLabel(pattern), rec.status, time.Since(start))
	}()
	if !s.inFlight.enter(rec) {
		return
	}
	defer s.inFlight.leave()
	if r.Header.Get(headerForwarded) == "" {
		s.setIndexHeaders(rec)
	}
	_, pattern = s.mux.Handler(r)
	if pattern == "/" && r.URL.Path != "/" {
		if allowed := s.allowedMethods(r); allowed != "" {
			rec.Header().Set("Allow", allowed)
			writeErr(rec, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allowed))
			return
		}
	}
	if !s.admit(rec, r, pattern, &r) {
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, MaxBody)
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) allowedMethods(r *http.Request) string {
	var ok []string
	for _, m := range []string{"GET", "PUT", "POST", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "/" && p != "" {
			ok = append(ok, m)
		}
	}
	return strings.Join(ok, ", ")
}

func (s *Server) setIndexHeaders(w http.ResponseWriter) {
	known := false
	var idx uint64
	if s.cluster != nil {
		_, id := s.cluster.Leader()
		known = id != ""
		idx = s.cluster.FSM().Index()
	}
	w.Header().Set("X-Allot-Index", strconv.FormatUint(idx, 10))
	w.Header().Set("X-Allot-Known-Leader", strconv.FormatBool(known))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type handler func(w http.ResponseWriter, r *http.Request) error

// local serves a request on this agent.
func (s *Server) local(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.finish(w, h(w, r)) }
}

// server serves a request that needs the replicated state: locally on a
// server, forwarded to a server from a client-only agent.
func (s *Server) server(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cluster == nil {
			s.finish(w, s.forwardToAnyServer(w, r))
			return
		}
		r, err := s.readGate(r)
		if err != nil {
			s.finish(w, err)
			return
		}
		s.finish(w, h(w, r))
	}
}

func (s *Server) finish(w http.ResponseWriter, err error) {
	if err == nil {
		return
	}
	var he *httpError
	var rej *cluster.RejectedError
	switch {
	case errors.As(err, &he):
		writeErr(w, he.code, he.err)
	case errors.As(err, &rej):
		writeErr(w, http.StatusBadRequest, rej.Err)
	case errors.Is(err, errNoLeader):
		writeErr(w, http.StatusServiceUnavailable, err)
	case errors.Is(err, context.Canceled):
		// The caller went away, or the agent is stopping (requests' contexts
		// end when shutdown starts): a write may or may not have been
		// applied, so never answer as if it had been (an empty 200). If the
		// caller is gone this answer is simply not read.
		writeErr(w, http.StatusServiceUnavailable, errors.New("request cancelled: the agent is stopping (or the caller went away); a write may or may not have been applied: retry"))
	case errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET):
		// Writing the answer failed: the caller went away (not our error).
		s.log.Debug("the caller went away before the answer was written", "error", err)
	default:
		s.log.Error("request failed", "error", err)
		writeErr(w, http.StatusServiceUnavailable, err)
	}
}

type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }

func badRequest(format string, a ...any) error {
	return &httpError{code: http.StatusBadRequest, err: fmt.Errorf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &httpError{code: http.StatusNotFound, err: fmt.Errorf(format, a...)}
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	_ = writeJSON(w, code, map[string]string{"error": err.Error()})
}

// decodeBody decodes a JSON body strictly; errors name the field.
func decodeBody(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if err := checkJSON(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &ute):
			return badRequest("%s: %s is not a %s", fieldPath(ute), ute.Value, ute.Type)
		case errors.As(err, &se):
			return badRequest("body: malformed JSON at byte %d: %v", se.Offset, err)
		case errors.Is(err, io.EOF):
			return badRequest("body: empty, expected JSON")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest("%s: unknown field", truncate(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), 200))
		}
		return badRequest("body: %v", err)
	}
	if dec.More() {
		return badRequest("body: trailing data after the JSON document")
	}
	return nil
}

func fieldPath(e *json.UnmarshalTypeError) string {
	if e.Field != "" {
		return e.Field
	}
	return "body"
}

var errNoLeader = errors.New("no cluster leader")

const headerForwarded = "X-Allot-Forwarded"

// forwardedByClient is the X-Allot-Forwarded value of a request a
// client-only agent passed to a server: that server may still forward it
// once to the leader (a server sets "1", which is never forwarded again).
const forwardedByClient = "client"

// mayForward reports whether this request may still be forwarded to the
// leader: it was not forwarded yet, or only by a client-only agent.
func mayForward(r *http.Request) bool {
	v := r.Header.Get(headerForwarded)
	return v == "" || v == forwardedByClient
}

// write runs apply on the leader: here if this server leads, else by
// forwarding the whole request to the leader's HTTP API. With no leader it
// waits, bounded and jittered, then answers 503.
func (s *Server) write(w http.ResponseWriter, r *http.Request, body []byte, apply func(ctx context.Context) (any, error)) error {
	deadline := time.Now().Add(s.noLeader)
	for {
		if s.cluster.IsLeader() {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			out, err := apply(ctx)
			if errors.Is(err, cluster.ErrNotLeader) && time.Now().Before(deadline) {
				continue
			}
			if err != nil {
				return err
			}
			s.recordWrite(r, out)
			s.setIndexHeaders(w)
			return writeJSON(w, http.StatusOK, out)
		}
		_, lid := s.cluster.Leader()
		var refused error
		if lid != "" && mayForward(r) {
			if addr := s.httpAddrOf(lid); addr != "" {
				err := s.proxyWrite(w, r, addr, lid, body)
				// A leader that cannot even be dialled (it is stopping, or
				// gone and not yet noticed) never saw the write: wait for
				// the next leader within the bound rather than answer an
				// ambiguous 503 at once. Any other outcome is the answer.
				var op *net.OpError
				if err == nil || !errors.As(err, &op) || op.Op != "dial" {
					return err
				}
				refused = err
			}
		}
		if time.Now().After(deadline) {
			if refused != nil {
				return refused
			}
			return fmt.Errorf("%w: no leader elected within %s, try again", errNoLeader, s.noLeader)
		}
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case <-time.After(50*time.Millisecond + time.Duration(rand.Int64N(int64(100*time.Millisecond)))):
		}
	}
}

// httpAddrOf finds a node's HTTP address by its ID: the replicated member
// record first, gossip next.
func (s *Server) httpAddrOf(id string) string {
	if s.cluster != nil {
		if m, ok := s.cluster.FSM().Member(id); ok && m.HTTPAddr != "" {
			return m.HTTPAddr
		}
	}
	for _, m := range s.agent.Members() {
		if m.ID == id && m.HTTPAddr != "" {
			return m.HTTPAddr
		}
	}
	return ""
}

// proxy forwards a request to another agent's API and copies its answer back.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, addr string, body []byte) error {
	u := s.scheme + "://" + addr + r.URL.RequestURI()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u, rd)
	if err != nil {
		return fmt.Errorf("forwarding to %s: %w", addr, err)
	}
	for _, h := range []string{"Content-Type", "X-Allot-Token"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if s.cluster == nil {
		req.Header.Set(headerForwarded, forwardedByClient)
	} else {
		req.Header.Set(headerForwarded, "1")
	}
	req.Header.Set(headerClient, callerAddr(r))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: forwarding to %s failed: %w", errNoLeader, addr, err)
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "X-Allot-Index", "X-Allot-Known-Leader"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		// The answer has started: nothing else can be said to the caller.
		if r.Context().Err() != nil {
			s.log.Debug("the caller went away during a forwarded answer", "from", addr, "path", r.URL.Path)
		} else {
			s.log.Warn("a forwarded answer was cut short", "from", addr, "path", r.URL.Path, "error", err)
		}
	}
	return nil
}

// forwardToAnyServer sends a request from a client-only agent to a server.
func (s *Server) forwardToAnyServer(w http.ResponseWriter, r *http.Request) error {
	if r.Header.Get(headerForwarded) != "" {
		return &httpError{code: http.StatusServiceUnavailable, err: errors.New("forwarded request reached a client-only agent")}
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return badRequest("body: %v", err)
		}
		body = b
	}
	// Try the live servers in turn: one that cannot even be dialled (dead or
	// cut off, and gossip has not noticed yet) never saw the request, so the
	// next one may have it; any other failure is returned as is.
	// The server that answered last is tried first (sticky), so one that
	// is down costs at most one failed dial.
	var addrs []string
	last, _ := s.lastServer.Load().(string)
	for _, m := range s.agent.Members() {
		if !m.Server || m.Status != gossip.StatusAlive || m.HTTPAddr == "" {
			continue
		}
		if m.HTTPAddr == last {
			addrs = append([]string{last}, addrs...)
		} else {
			addrs = append(addrs, m.HTTPAddr)
		}
	}
	var lastErr error
	for _, addr := range addrs {
		err := s.proxy(w, r, addr, body)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" && r.Context().Err() == nil {
			lastErr = err
			continue
		}
		if err == nil {
			s.lastServer.Store(addr)
		}
		return err
	}
	if lastErr != nil {
		return lastErr
	}
	return fmt.Errorf("%w: this client knows no live server", errNoLeader)
}

func (s *Server) fsm() *fsm.FSM { return s.cluster.FSM() }

// readBody reads the body once so that it can be both decoded and forwarded.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest("body: larger than %d bytes", MaxBody)
		}
		return nil, badRequest("body: %v", err)
	}
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	return b, nil
}

// planView is a plan as /v1/plan shows it (without the per-placement explanations).
func planView(p bidding.Plan) bidding.Plan {
	p.Explain = nil
	return p
}

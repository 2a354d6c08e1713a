package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// HeaderToken carries an ACL token's secret. "Authorization: Bearer SECRET"
// is accepted too (Consul does the same; Prometheus can send it).
const HeaderToken = "X-Allot-Token"

// access is what a route needs from the caller's token.
type access int

const (
	accessOpen     access = iota // no token needed
	accessAnyToken               // any valid token (GET /v1/acl/token/self)
	accessRead                   // read, bid or operator
	accessBid                    // bid (for its own service) or operator
	accessOperator               // operator only
)

type ctxKey int

const (
	ctxToken ctxKey = iota
	ctxSecret
)

// CallerToken is the secret of the token the current request was authorized
// with ("" when ACLs are off). The agent uses it for the calls it makes on
// the caller's behalf (a server's graceful leave asks the leader to remove it).
func CallerToken(ctx context.Context) string {
	s, _ := ctx.Value(ctxSecret).(string)
	return s
}

func tokenOf(ctx context.Context) (fsm.ACLToken, bool) {
	t, ok := ctx.Value(ctxToken).(fsm.ACLToken)
	return t, ok
}

func forbidden(format string, a ...any) error {
	return &httpError{code: http.StatusForbidden, err: fmt.Errorf(format, a...)}
}

var errACLDisabled = &httpError{code: http.StatusBadRequest,
	err: errors.New("ACL support disabled: start every agent with acl { enabled = true }")}

// secretFrom reads the presented secret from X-Allot-Token or a bearer token.
func secretFrom(r *http.Request) string {
	if v := strings.TrimSpace(r.Header.Get(HeaderToken)); v != "" {
		return v
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// authorize checks the caller's token against the route's needs on this
// agent, with its local replicated state (a client-only agent asks a
// server). It returns the request with the token in its context.
func (s *Server) authorize(r *http.Request, pattern string) (*http.Request, error) {
	need := s.accessFor(pattern)
	if need == accessOpen {
		return r, nil
	}
	secret := secretFrom(r)
	if secret == "" {
		return nil, forbidden("missing %s", HeaderToken)
	}
	tok, err := s.resolveToken(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	allowed := false
	switch need {
	case accessAnyToken:
		allowed = true
	case accessRead:
		allowed = true // every policy reads
	case accessBid:
		allowed = tok.Policy == fsm.PolicyBid || tok.Policy == fsm.PolicyOperator
	case accessOperator:
		allowed = tok.Policy == fsm.PolicyOperator
	}
	if !allowed {
		return nil, &deniedError{accessor: tok.AccessorID, err: forbidden("permission denied: a %q token may not %s %s", tok.Policy, r.Method, r.URL.Path)}
	}
	// A bearer token is forwarded as X-Allot-Token (proxy copies that header).
	r.Header.Set(HeaderToken, secret)
	ctx := context.WithValue(r.Context(), ctxToken, tok)
	ctx = context.WithValue(ctx, ctxSecret, secret)
	return r.WithContext(ctx), nil
}

// deniedError is a valid token refused for a route: the failed-auth log
// names its accessor.
type deniedError struct {
	accessor string
	err      error
}

func (e *deniedError) Error() string { return e.err.Error() }
func (e *deniedError) Unwrap() error { return e.err }

// resolveToken finds the token for a secret: in the local FSM on a server
// (compared on the SHA-256, in constant time), by asking a server on a
// client-only agent.
func (s *Server) resolveToken(ctx context.Context, secret string) (fsm.ACLToken, error) {
	if s.cluster != nil {
		sum := sha256.Sum256([]byte(secret))
		if tok, ok := s.fsm().ResolveACLToken(sum[:]); ok {
			return tok, nil
		}
		return fsm.ACLToken{}, forbidden("ACL token not found")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/v1/acl/token/self", nil)
	if err != nil {
		return fsm.ACLToken{}, fmt.Errorf("resolving a token through a server: %w", err)
	}
	req.Header.Set(HeaderToken, secret)
	bw := &bufferWriter{header: http.Header{}, code: http.StatusOK}
	if err := s.forwardToAnyServer(bw, req); err != nil {
		return fsm.ACLToken{}, fmt.Errorf("resolving a token through a server: %w", err)
	}
	if bw.code != http.StatusOK {
		return fsm.ACLToken{}, &httpError{code: bw.code, err: DecodeError(bw.body.Bytes())}
	}
	var v ACLTokenView
	if err := json.Unmarshal(bw.body.Bytes(), &v); err != nil {
		return fsm.ACLToken{}, fmt.Errorf("resolving a token through a server: decoding the answer: %w", err)
	}
	return fsm.ACLToken{AccessorID: v.AccessorID, Policy: v.Policy, Service: v.Service, Description: v.Description, CreateIndex: v.CreateIndex}, nil
}

// bufferWriter captures an answer in memory.
type bufferWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) WriteHeader(code int)        { b.code = code }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

// checkBidScope refuses, for a bid token, any bid for another service.
func checkBidScope(ctx context.Context, bids []bidding.Bid) error {
	tok, ok := tokenOf(ctx)
	if !ok || tok.Policy != fsm.PolicyBid {
		return nil
	}
	for _, b := range bids {
		if b.Service != tok.Service {
			return forbidden("permission denied: this bid token is scoped to service %q and may not bid for service %q", tok.Service, b.Service)
		}
	}
	return nil
}

// ACLTokenView is a token as the API shows it. SecretID is set only in the
// answers of bootstrap and create, the one time a secret is shown.
type ACLTokenView struct {
	AccessorID  string `json:"accessor_id"`
	SecretID    string `json:"secret_id,omitempty"`
	Policy      string `json:"policy"`
	Service     string `json:"service,omitempty"`
	Description string `json:"description,omitempty"`
	CreateIndex uint64 `json:"create_index"`
}

func viewOf(t fsm.ACLToken) ACLTokenView {
	return ACLTokenView{AccessorID: t.AccessorID, Policy: t.Policy, Service: t.Service, Description: t.Description, CreateIndex: t.CreateIndex}
}

// ACLTokenRequest is the body of PUT /v1/acl/token.
type ACLTokenRequest struct {
	Policy      string `json:"policy"`
	Service     string `json:"service,omitempty"`
	Description string `json:"description,omitempty"`
}

// newUUID is a random (v4) UUID from crypto/rand.
func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// newToken generates an accessor ID and a secret; the token for the log
// holds only the secret's SHA-256.
func newToken(policy, service, description string) (fsm.ACLToken, string, error) {
	acc, err := newUUID()
	if err != nil {
		return fsm.ACLToken{}, "", fmt.Errorf("generating an accessor ID: %w", err)
	}
	secret, err := newUUID()
	if err != nil {
		return fsm.ACLToken{}, "", fmt.Errorf("generating a secret: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	return fsm.ACLToken{AccessorID: acc, SecretHash: hex.EncodeToString(sum[:]), Policy: policy, Service: service, Description: description}, secret, nil
}

func (s *Server) aclBootstrap(w http.ResponseWriter, r *http.Request) error {
	if !s.acl {
		return errACLDisabled
	}
	already := func(idx uint64) error {
		return forbidden("ACL bootstrap no longer allowed: the cluster was bootstrapped at index %d; use an operator token to create tokens", idx)
	}
	if idx := s.fsm().ACLBootstrapIndex(); idx != 0 {
		return already(idx)
	}
	return s.write(w, r, nil, func(ctx context.Context) (any, error) {
		if idx := s.fsm().ACLBootstrapIndex(); idx != 0 {
			return nil, already(idx)
		}
		tok, secret, err := newToken(fsm.PolicyOperator, "", "Bootstrap Token (operator)")
		if err != nil {
			return nil, fmt.Errorf("bootstrapping ACLs: %w", err)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdACLBootstrap, fsm.ACLBootstrap{Token: tok})
		if errors.Is(err, fsm.ErrACLBootstrapped) {
			return nil, already(s.fsm().ACLBootstrapIndex())
		}
		if err != nil {
			return nil, err
		}
		v := viewOf(tok)
		v.SecretID, v.CreateIndex = secret, idx
		s.log.Info("ACL system bootstrapped", "accessor", tok.AccessorID, "index", idx)
		return v, nil
	})
}

func (s *Server) aclCreateToken(w http.ResponseWriter, r *http.Request) error {
	if !s.acl {
		return errACLDisabled
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req ACLTokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := fsm.ValidatePolicy(req.Policy, req.Service); err != nil {
		return badRequest("%v", err)
	}
	if len(req.Description) > fsm.MaxACLDescription {
		return badRequest("description: %d bytes, at most %d", len(req.Description), fsm.MaxACLDescription)
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		tok, secret, err := newToken(req.Policy, req.Service, req.Description)
		if err != nil {
			return nil, fmt.Errorf("creating a token: %w", err)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdACLTokenCreate, fsm.ACLTokenCreate{Token: tok})
		if err != nil {
			return nil, err
		}
		v := viewOf(tok)
		v.SecretID, v.CreateIndex = secret, idx
		s.log.Info("ACL token created", "accessor", tok.AccessorID, "policy", tok.Policy, "service", tok.Service)
		return v, nil
	})
}

func (s *Server) aclListTokens(w http.ResponseWriter, r *http.Request) error {
	if !s.acl {
		return errACLDisabled
	}
	out := []ACLTokenView{}
	for _, t := range s.fsm().ACLTokens() {
		out = append(out, viewOf(t))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) aclTokenSelf(w http.ResponseWriter, r *http.Request) error {
	if !s.acl {
		return errACLDisabled
	}
	tok, ok := tokenOf(r.Context())
	if !ok {
		return forbidden("missing %s", HeaderToken)
	}
	return writeJSON(w, http.StatusOK, viewOf(tok))
}

func (s *Server) aclDeleteToken(w http.ResponseWriter, r *http.Request) error {
	if !s.acl {
		return errACLDisabled
	}
	acc := r.PathValue("accessor")
	if _, ok := s.fsm().ACLToken(acc); !ok && s.cluster.IsLeader() {
		return notFound("ACL token %q does not exist", acc)
	}
	return s.write(w, r, nil, func(ctx context.Context) (any, error) {
		if _, ok := s.fsm().ACLToken(acc); !ok {
			return nil, notFound("ACL token %q does not exist", acc)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdACLTokenDelete, fsm.ACLTokenDelete{AccessorID: acc})
		if err != nil {
			return nil, err
		}
		s.log.Info("ACL token deleted", "accessor", acc)
		return map[string]any{"index": idx, "deleted": acc}, nil
	})
}

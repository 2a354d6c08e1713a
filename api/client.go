package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client talks to an agent's HTTP API.
type Client struct {
	Addr  string // host:port, or a base URL (http://host:port, https://host:port)
	Token string
	HTTP  *http.Client
	HTTPS bool // a host:port Addr is reached over HTTPS
}

// NewClient returns a client for addr over plain HTTP (unless addr is an
// https:// URL).
func NewClient(addr, token string) *Client {
	return NewClientTLS(addr, token, nil)
}

// NewClientTLS returns a client for addr; with tc set it speaks HTTPS with
// that configuration (the CA to trust and the client certificate to present)
// over a transport of its own. Long-lived callers that make many clients
// share one HTTPClient instead (Client{Addr, HTTP, HTTPS: true}).
func NewClientTLS(addr, token string, tc *tls.Config) *Client {
	if tc == nil {
		return &Client{Addr: addr, Token: token, HTTP: &http.Client{Timeout: 6 * time.Minute}}
	}
	return &Client{Addr: addr, Token: token, HTTP: HTTPClient(tc), HTTPS: true}
}

// HTTPClient is an HTTP client for the API with TLS configuration tc.
func HTTPClient(tc *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Timeout: 6 * time.Minute, Transport: tr}
}

// BaseURL is the scheme and address requests go to.
func (c *Client) BaseURL() string {
	if strings.Contains(c.Addr, "://") {
		return strings.TrimRight(c.Addr, "/")
	}
	if c.HTTPS {
		return "https://" + c.Addr
	}
	return "http://" + c.Addr
}

// tlsHint explains the usual TLS failures in the terms of the CLI's flags.
func tlsHint(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "certificate required"), strings.Contains(s, "bad certificate"),
		strings.Contains(s, "unknown certificate authority"), strings.Contains(s, "unknown certificate"):
		return " (the agent requires a client certificate signed by its CA: --client-cert and --client-key)"
	case strings.Contains(s, "server gave HTTP response to HTTPS client"):
		return " (the agent serves plain HTTP: drop --ca-file or use an http:// address)"
	case strings.Contains(s, "x509:"), strings.Contains(s, "tls: failed to verify"):
		return " (the agent's certificate is not trusted: check --ca-file, or --tls-server-name)"
	}
	return ""
}

// httpsOnly is how Go's HTTP server answers a plain request on a TLS port.
const httpsOnly = "Client sent an HTTP request to an HTTPS server"

// Error is an API error answer.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Msg, e.Code) }

// Meta is what a response's headers say.
type Meta struct {
	Index       uint64
	KnownLeader bool
}

// Do sends a request with an optional JSON body and decodes a JSON answer into out.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (Meta, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		default:
			enc, err := json.Marshal(body)
			if err != nil {
				return Meta{}, fmt.Errorf("encoding request: %w", err)
			}
			rd = bytes.NewReader(enc)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL()+path, rd)
	if err != nil {
		return Meta{}, fmt.Errorf("building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("X-Allot-Token", c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Meta{}, fmt.Errorf("contacting the agent at %s: %w%s", c.Addr, err, tlsHint(err))
	}
	defer resp.Body.Close()
	var m Meta
	m.Index, _ = strconv.ParseUint(resp.Header.Get("X-Allot-Index"), 10, 64)
	m.KnownLeader = resp.Header.Get("X-Allot-Known-Leader") == "true"
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return m, fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode == http.StatusBadRequest && bytes.Contains(b, []byte(httpsOnly)) {
		return m, &Error{Code: resp.StatusCode, Msg: fmt.Sprintf("the agent at %s serves HTTPS with mutual TLS: use --ca-file, --client-cert and --client-key (or an https:// address)", c.Addr)}
	}
	if resp.StatusCode >= 300 {
		return m, &Error{Code: resp.StatusCode, Msg: DecodeError(b).Error()}
	}
	if out == nil {
		return m, nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], b...)
		return m, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return m, fmt.Errorf("decoding answer from %s: %w", path, err)
	}
	return m, nil
}

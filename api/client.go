package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Client talks to an agent's HTTP API.
type Client struct {
	Addr  string // host:port
	Token string
	HTTP  *http.Client
}

// NewClient returns a client for addr.
func NewClient(addr, token string) *Client {
	return &Client{Addr: addr, Token: token, HTTP: &http.Client{Timeout: 6 * time.Minute}}
}

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
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.Addr+path, rd)
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
		return Meta{}, fmt.Errorf("contacting the agent at %s: %w", c.Addr, err)
	}
	defer resp.Body.Close()
	var m Meta
	m.Index, _ = strconv.ParseUint(resp.Header.Get("X-Allot-Index"), 10, 64)
	m.KnownLeader = resp.Header.Get("X-Allot-Known-Leader") == "true"
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return m, fmt.Errorf("reading answer: %w", err)
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

package api

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/net/netutil"
)

// Limits bound what one HTTP connection or request may hold on to. Without
// them a slow body or an idle keep-alive stayed open indefinitely.
type Limits struct {
	ReadHeaderTimeout time.Duration // headers must arrive within this
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // above MaxWait: a blocking query must fit
	IdleTimeout       time.Duration // a keep-alive connection with no request
	MaxConns          int           // open connections; more wait in the kernel's backlog
	MaxInFlight       int           // requests being served; more get 503 + Retry-After
	Rate              float64       // requests per second per token or client address (429 + Retry-After)
	Burst             int
}

// DefaultLimits are the agent's. MaxInFlight leaves room for one blocking
// plan watch per client agent of a large cluster.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      MaxWait + 30*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxConns:          8192,
		MaxInFlight:       4096,
		Rate:              DefaultRate,
		Burst:             DefaultBurst,
	}
}

// HTTPServer returns an http.Server for h with the limits' timeouts;
// requests' contexts derive from base.
func (l Limits) HTTPServer(h http.Handler, base context.Context, log hclog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout,
		BaseContext: func(net.Listener) context.Context { return base },
		ErrorLog:    log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}
}

// Listener caps the connections ln accepts at MaxConns (wrap the TCP
// listener, under any TLS).
func (l Limits) Listener(ln net.Listener) net.Listener {
	if l.MaxConns <= 0 {
		return ln
	}
	return netutil.LimitListener(ln, l.MaxConns)
}

// inFlight is a counting semaphore of requests being served.
type inFlight chan struct{}

// enter takes a slot, or answers 503 with Retry-After and returns false.
func (f inFlight) enter(w http.ResponseWriter) bool {
	if f == nil {
		return true
	}
	select {
	case f <- struct{}{}:
		return true
	default:
		w.Header().Set("Retry-After", strconv.Itoa(1))
		writeErr(w, http.StatusServiceUnavailable, errTooManyInFlight)
		return false
	}
}

func (f inFlight) leave() {
	if f != nil {
		<-f
	}
}

package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"
)

// Defaults of the request rate limits (see DESIGN.md): generous for real
// callers, a wall for token guessing.
const (
	DefaultRate        = 500 // requests per second per token (per client address when ACLs are off)
	DefaultBurst       = 1000
	FailedAuthRate     = 5 // missing or unknown tokens per second per client address
	FailedAuthBurst    = 50
	limiterIdleExpiry  = 10 * time.Minute
	limiterSweepAtSize = 4096
)

// limiters keeps one token-bucket limiter per key, dropping keys idle for
// limiterIdleExpiry once there are many.
type limiters struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*keyed
}

type keyed struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(r float64, burst int) *limiters {
	if r <= 0 {
		return nil
	}
	return &limiters{rate: rate.Limit(r), burst: max(burst, 1), m: map[string]*keyed{}}
}

// allow takes one request for key; when over the limit it returns how long
// until one would be allowed.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	k, ok := l.m[key]
	if !ok {
		if len(l.m) >= limiterSweepAtSize {
			for key, v := range l.m {
				if now.Sub(v.seen) > limiterIdleExpiry {
					delete(l.m, key)
				}
			}
		}
		k = &keyed{lim: rate.NewLimiter(l.rate, l.burst)}
		l.m[key] = k
	}
	k.seen = now
	l.mu.Unlock()
	r := k.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// tooMany answers 429 with Retry-After (whole seconds, at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, what string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
	writeErr(w, http.StatusTooManyRequests, errRateLimited(what))
}

type errRateLimited string

func (e errRateLimited) Error() string {
	return "rate limited: too many " + string(e) + "; retry after the Retry-After seconds"
}

// clientAddr is the caller's IP (without the port).
func clientAddr(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// authLog logs failed authentications with the client address and what was
// presented (a token's accessor when it was known but not allowed, else a
// fingerprint of the secret, never the secret), at most a few a second per
// address; the rest are counted in the next line.
type authLog struct {
	log        hclog.Logger
	lim        *limiters
	mu         sync.Mutex
	suppressed map[string]int
}

func newAuthLog(log hclog.Logger) *authLog {
	return &authLog{log: log, lim: newLimiters(1, 5), suppressed: map[string]int{}}
}

func (a *authLog) failed(r *http.Request, secret, accessor string, err error) {
	addr := clientAddr(r)
	if ok, _ := a.lim.allow(addr, time.Now()); !ok {
		a.mu.Lock()
		a.suppressed[addr]++
		a.mu.Unlock()
		return
	}
	a.mu.Lock()
	n := a.suppressed[addr]
	delete(a.suppressed, addr)
	a.mu.Unlock()
	args := []any{"client", addr, "method", r.Method, "path", r.URL.Path, "error", err}
	if accessor != "" {
		args = append(args, "accessor", accessor)
	} else if secret != "" {
		sum := sha256.Sum256([]byte(secret))
		args = append(args, "secret_sha256_prefix", hex.EncodeToString(sum[:4]))
	}
	if n > 0 {
		args = append(args, "suppressed_since_last", n)
	}
	a.log.Warn("authentication failed", args...)
}

// blocked reports whether key has no request left, without taking one.
func (l *limiters) blocked(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	l.mu.Lock()
	k, ok := l.m[key]
	l.mu.Unlock()
	if !ok {
		return false, 0
	}
	if t := k.lim.TokensAt(now); t < 1 {
		return true, time.Duration((1 - t) / float64(l.rate) * float64(time.Second))
	}
	return false, 0
}

// admit authorizes the request (with ACLs) and applies the rate limits; it
// writes the refusal and returns false, or stores the authorized request
// in *out. An address over its failed-authentication limit is refused
// before its token is even looked at, so guessing gets nowhere faster.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, pattern string, out **http.Request) bool {
	now := time.Now()
	addr := clientAddr(r)
	key := "addr:" + addr
	if s.acl {
		if blocked, wait := s.authFail.blocked(addr, now); blocked && s.accessFor(pattern) != accessOpen {
			tooMany(w, wait, "failed authentications from "+addr)
			return false
		}
		ar, err := s.authorize(r, pattern)
		if err != nil {
			var he *httpError
			if errors.As(err, &he) && he.code == http.StatusForbidden {
				var de *deniedError
				accessor := ""
				if errors.As(err, &de) {
					accessor = de.accessor
				} else {
					s.authFail.allow(addr, now) // a missing or unknown secret: a guess
				}
				s.authLog.failed(r, secretFrom(r), accessor, err)
			}
			s.finish(w, err)
			return false
		}
		r = ar
		if tok, ok := tokenOf(r.Context()); ok {
			key = "token:" + tok.AccessorID
		}
	}
	// A request forwarded by another agent was limited where it arrived.
	if r.Header.Get(headerForwarded) == "" {
		if ok, wait := s.rates.allow(key, now); !ok {
			tooMany(w, wait, "requests for this "+map[bool]string{true: "token", false: "client address"}[strings.HasPrefix(key, "token:")])
			return false
		}
	}
	*out = r
	return true
}

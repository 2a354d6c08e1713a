package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/hashicorp/go-hclog"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Finding 14 of issue 13: token guessing is limited (429 + Retry-After,
// before the token is even looked at) and every failed authentication is
// logged with the client address, rate-limited.
func TestTokenGuessingIsLimitedAndLogged(t *testing.T) {
	logs := &syncBuf{}
	c := testcluster.Start(t, 1, time.Hour, testcluster.WithACL(), func(o *api.Options) {
		o.FailedAuthRate, o.FailedAuthBurst = 0.5, 3
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn})
	})
	base := c.Leader(10 * time.Second).HTTP.URL
	op := bootstrap(t, base)
	for i := range 3 {
		if code, body := call(t, "GET", base+"/v1/services", "00000000-0000-4000-8000-00000000000"+string(rune('0'+i)), ""); code != 403 {
			t.Fatalf("guess %d: %d %s", i, code, body)
		}
	}
	req, _ := http.NewRequest("GET", base+"/v1/services", nil)
	req.Header.Set("X-Allot-Token", op.SecretID) // even the right one, from this address, now waits
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failed guesses: %d Retry-After=%q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := call(t, "GET", base+"/v1/health", "", ""); code != 200 {
		t.Fatalf("health (open) while limited: %d", code)
	}
	out := logs.String()
	if !strings.Contains(out, "authentication failed") || !strings.Contains(out, "client=127.0.0.1") || !strings.Contains(out, "secret_sha256_prefix") {
		t.Fatalf("failed authentications not logged with the client address:\n%s", out)
	}
	if strings.Contains(out, "00000000-0000-4000-8000") {
		t.Fatalf("a presented secret was logged:\n%s", out)
	}
}

func TestRequestRateLimit(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour, func(o *api.Options) { o.Rate, o.Burst = 1, 3 })
	base := c.Leader(10 * time.Second).HTTP.URL
	codes := []int{}
	for range 5 {
		code, _ := call(t, "GET", base+"/v1/agent/self", "", "")
		codes = append(codes, code)
	}
	if codes[0] != 200 || codes[2] != 200 || codes[4] != 429 {
		t.Fatalf("statuses %v: want the burst of 3 served, then 429", codes)
	}
	// A request another agent forwarded was limited where it arrived.
	if code, _ := call(t, "GET", base+"/v1/agent/self", "", "", "X-Allot-Forwarded", "1"); code != 200 {
		t.Fatalf("forwarded request: %d", code)
	}
}

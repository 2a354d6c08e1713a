package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/gossip"
	"github.com/allot-dev/allot/internal/testcluster"
)

// call sends a request with an optional token and returns the status and body.
func call(t *testing.T, method, url, token, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Allot-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// msgOf is the error message of a JSON error body (or the body).
func msgOf(body string) string { return api.DecodeError([]byte(body)).Error() }

func bootstrap(t *testing.T, url string) api.ACLTokenView {
	t.Helper()
	code, body := call(t, "PUT", url+"/v1/acl/bootstrap", "", "")
	if code != 200 {
		t.Fatalf("bootstrap: %d %s", code, body)
	}
	var v api.ACLTokenView
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.SecretID == "" || v.AccessorID == "" || v.Policy != "operator" {
		t.Fatalf("bootstrap answer %s: %v", body, err)
	}
	return v
}

func createToken(t *testing.T, url, op, policy, service string) api.ACLTokenView {
	t.Helper()
	b, _ := json.Marshal(api.ACLTokenRequest{Policy: policy, Service: service, Description: "test " + policy})
	code, body := call(t, "PUT", url+"/v1/acl/token", op, string(b))
	if code != 200 {
		t.Fatalf("create %s token: %d %s", policy, code, body)
	}
	var v api.ACLTokenView
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.SecretID == "" || v.Policy != policy || v.Service != service {
		t.Fatalf("create answer %s: %v", body, err)
	}
	return v
}

// waitFor polls cond until it holds (bounded, so a bug fails instead of hanging).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func bidJSON(service string) string {
	return fmt.Sprintf(`{"service":%q,"node":"n1","epoch":1,"resources":{"cpu":{"p50":100,"p90":150,"p99":200}}}`, service)
}

func usageJSON(service string) string {
	return fmt.Sprintf(`{"node":"n1","epoch":1,"services":[{"service":%q,"actual":{"cpu":120}}]}`, service)
}

func historyJSON(service string) string {
	return fmt.Sprintf(`{"service":%q,"node":"n1","interval_ms":300000,"points":{"cpu":[{"t":"2026-12-01T10:00:00Z","v":800},{"t":"2026-12-01T10:05:00Z","v":810}]}}`, service)
}

// aclCluster starts one ACL-enabled server with services web and db and
// client node n1 known, bootstrapped, with a read and a bid(web) token.
func aclCluster(t *testing.T) (base string, op, read, bid api.ACLTokenView, n *testcluster.Node) {
	c := testcluster.Start(t, 1, time.Hour, testcluster.WithACL())
	n = c.Leader(10 * time.Second)
	base = n.HTTP.URL
	op = bootstrap(t, base)
	for _, s := range []string{"web", "db"} {
		if code, body := call(t, "PUT", base+"/v1/service/"+s, op.SecretID, `{"class":"standard"}`); code != 200 {
			t.Fatalf("register %s: %d %s", s, code, body)
		}
	}
	waitFor(t, "member n1", func() bool {
		for _, m := range n.Server.FSM().Members() {
			if m.Name == "n1" && m.Client {
				return true
			}
		}
		return false
	})
	read = createToken(t, base, op.SecretID, "read", "")
	bid = createToken(t, base, op.SecretID, "bid", "web")
	return base, op, read, bid, n
}

func TestACLPolicyMatrix(t *testing.T) {
	base, op, read, bid, _ := aclCluster(t)
	tokens := map[string]string{"none": "", "unknown": "00000000-0000-4000-8000-000000000000", "read": read.SecretID, "bid": bid.SecretID, "operator": op.SecretID}
	type want map[string]int // token kind -> status; kinds not listed answer 403
	all := func(code int) want {
		return want{"none": code, "unknown": code, "read": code, "bid": code, "operator": code}
	}
	cases := []struct {
		method, path, body string
		want               want
	}{
		{"GET", "/v1/health", "", all(200)},
		{"GET", "/v1/nope", "", all(404)},
		{"GET", "/v1/services", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/service/web", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/bids", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/status/leader", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/status/peers", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/status/raft", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/plan/history/web", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/agent/self", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/agent/members", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/nodes", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/settings", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/metrics", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/plan", "", want{"read": 404, "bid": 404, "operator": 404}}, // allowed; no plan yet
		{"GET", "/v1/acl/token/self", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/acl/tokens", "", want{"operator": 200}},
		{"PUT", "/v1/bids", bidJSON("web"), want{"bid": 200, "operator": 200}},
		{"PUT", "/v1/bids", bidJSON("db"), want{"operator": 200}},
		{"PUT", "/v1/bids", "[" + bidJSON("web") + "," + bidJSON("db") + "]", want{"operator": 200}},
		// Past the token check, a report for epoch 1 before any plan is a 400.
		{"PUT", "/v1/usage", usageJSON("web"), want{"bid": 400, "operator": 400}},
		{"PUT", "/v1/usage", usageJSON("db"), want{"operator": 400}},
		{"GET", "/v1/forecast/web", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/usage/history/web?node=n1", "", want{"read": 404, "bid": 404, "operator": 404}}, // allowed; none yet
		{"PUT", "/v1/usage/history/web", historyJSON("web"), want{"bid": 200, "operator": 200}},
		{"PUT", "/v1/usage/history/db", historyJSON("db"), want{"operator": 200}},
		{"GET", "/v1/usage/history/web?node=n1", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"GET", "/v1/regressors", "", want{"read": 200, "bid": 200, "operator": 200}},
		{"PUT", "/v1/regressors", `{"regressors":{"temperature":[{"time":"2026-12-01T10:00:00Z","value":12.5}]}}`, want{"operator": 200}},
		{"PUT", "/v1/service/web", `{"class":"critical"}`, want{"operator": 200}},
		{"DELETE", "/v1/service/ghost", "", want{"operator": 404}},
		{"PUT", "/v1/boost/web", `{"factor":2,"ttl":"1m"}`, want{"operator": 200}},
		{"DELETE", "/v1/boost/web", "", want{"operator": 200}},
		{"PUT", "/v1/agent/join", "", want{"operator": 400}},
		{"DELETE", "/v1/operator/raft/peer", "", want{"operator": 400}},
		{"PUT", "/v1/acl/token", `{"policy":"read"}`, want{"operator": 200}},
		{"DELETE", "/v1/acl/token/ghost", "", want{"operator": 404}},
		{"PUT", "/v1/acl/bootstrap", "", all(403)},
	}
	for _, tc := range cases {
		for _, kind := range []string{"none", "unknown", "read", "bid", "operator"} {
			t.Run(kind+" "+tc.method+" "+tc.path, func(t *testing.T) {
				code, body := call(t, tc.method, base+tc.path, tokens[kind], tc.body)
				exp, ok := tc.want[kind]
				if !ok {
					exp = 403
				}
				if code != exp {
					t.Fatalf("status %d (%s), want %d", code, body, exp)
				}
				if code != 403 {
					return
				}
				msg := api.DecodeError([]byte(body)).Error()
				switch {
				case tc.path == "/v1/acl/bootstrap":
					if !strings.Contains(msg, "no longer allowed") {
						t.Fatalf("second bootstrap error %q", msg)
					}
				case kind == "none":
					if msg != "missing X-Allot-Token" {
						t.Fatalf("error %q", msg)
					}
				case kind == "unknown":
					if msg != "ACL token not found" {
						t.Fatalf("error %q", msg)
					}
				case kind == "bid" && strings.Contains(tc.body, `"db"`):
					if !strings.Contains(msg, `"web"`) || !strings.Contains(msg, `"db"`) {
						t.Fatalf("bid scope error %q does not name the services", msg)
					}
				default:
					if !strings.Contains(msg, "permission denied") {
						t.Fatalf("error %q", msg)
					}
				}
			})
		}
	}
	// A bearer token works like X-Allot-Token.
	if code, body := call(t, "GET", base+"/metrics", "", "", "Authorization", "Bearer "+read.SecretID); code != 200 {
		t.Fatalf("bearer token: %d %s", code, body)
	}
}

func TestACLSecretsNeverShown(t *testing.T) {
	base, op, read, bid, n := aclCluster(t)
	secrets := []string{op.SecretID, read.SecretID, bid.SecretID}
	var hashes []string
	for _, s := range secrets {
		h := sha256.Sum256([]byte(s))
		hashes = append(hashes, hex.EncodeToString(h[:]))
	}
	for _, p := range []string{"/v1/acl/tokens", "/v1/acl/token/self", "/v1/services", "/v1/bids", "/v1/nodes", "/v1/agent/self", "/v1/status/peers", "/metrics"} {
		code, body := call(t, "GET", base+p, op.SecretID, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		for i, s := range secrets {
			if strings.Contains(body, s) || strings.Contains(body, hashes[i]) {
				t.Fatalf("GET %s shows a secret or its hash:\n%s", p, body)
			}
		}
	}
	var list []api.ACLTokenView
	if _, err := n.ClientWithToken(op.SecretID).Do(context.Background(), "GET", "/v1/acl/tokens", nil, &list); err != nil || len(list) != 3 {
		t.Fatalf("token list %+v %v", list, err)
	}
	snap, err := n.Server.FSM().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink bytesSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(sink.Bytes(), []byte(s)) {
			t.Fatal("the FSM snapshot holds a secret")
		}
	}
	if !bytes.Contains(sink.Bytes(), []byte(hashes[0])) || !bytes.Contains(sink.Bytes(), []byte(op.AccessorID)) {
		t.Fatal("the FSM snapshot lacks the operator token's hash or accessor")
	}
}

type bytesSink struct{ bytes.Buffer }

func (b *bytesSink) ID() string    { return "mem" }
func (b *bytesSink) Cancel() error { return nil }
func (b *bytesSink) Close() error  { return nil }

func TestACLTokenLifecycle(t *testing.T) {
	base, op, _, bid, _ := aclCluster(t)
	// Bad create requests are 400s naming the field.
	for body, field := range map[string]string{
		`{"policy":"root"}`:                     "policy",
		`{"policy":"bid"}`:                      "service",
		`{"policy":"read","service":"web"}`:     "service",
		`{"policy":"bid","service":"bad name"}`: "service",
		`{"policy":"read","secret":"mine"}`:     "secret",
		`{"policy":"read","description":` + fmt.Sprintf("%q", strings.Repeat("d", 300)) + `}`: "description",
	} {
		code, resp := call(t, "PUT", base+"/v1/acl/token", op.SecretID, body)
		if code != 400 || !strings.Contains(resp, field) {
			t.Fatalf("create %s: %d %s, want a 400 naming %q", body, code, resp, field)
		}
	}
	// Deleting a token revokes it.
	if code, body := call(t, "DELETE", base+"/v1/acl/token/"+bid.AccessorID, op.SecretID, ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body := call(t, "GET", base+"/v1/services", bid.SecretID, ""); code != 403 || !strings.Contains(body, "ACL token not found") {
		t.Fatalf("deleted token still works: %d %s", code, body)
	}
	// The last operator token cannot be deleted.
	if code, body := call(t, "DELETE", base+"/v1/acl/token/"+op.AccessorID, op.SecretID, ""); code != 400 || !strings.Contains(body, "last operator") {
		t.Fatalf("delete last operator: %d %s", code, body)
	}
}

func TestACLDisabledIsAsBefore(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	if code, body := call(t, "GET", n.HTTP.URL+"/v1/services", "", ""); code != 200 {
		t.Fatalf("services without ACLs: %d %s", code, body)
	}
	if code, body := call(t, "PUT", n.HTTP.URL+"/v1/service/web", "whatever", `{"class":"batch"}`); code != 200 {
		t.Fatalf("a token is ignored without ACLs: %d %s", code, body)
	}
	code, body := call(t, "PUT", n.HTTP.URL+"/v1/acl/bootstrap", "", "")
	if code != 400 || !strings.Contains(body, "ACL support disabled") {
		t.Fatalf("bootstrap without ACLs: %d %s", code, body)
	}
}

// TestACLAcrossCluster: bootstrap through a follower, a token created on the
// leader works on a follower once replicated, and a bid forwarded from a
// follower is checked there and again on the leader.
func TestACLAcrossCluster(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour, testcluster.WithACL())
	l := c.Leader(10 * time.Second)
	f := c.Followers()[0]
	op := bootstrap(t, f.HTTP.URL) // forwarded to the leader
	if code, body := call(t, "PUT", l.HTTP.URL+"/v1/acl/bootstrap", "", ""); code != 403 || !strings.Contains(body, "no longer allowed") {
		t.Fatalf("second bootstrap on the leader: %d %s", code, body)
	}
	waitFor(t, "the bootstrap on the follower", func() bool { return f.Server.FSM().ACLBootstrapIndex() != 0 })
	if code, body := call(t, "PUT", f.HTTP.URL+"/v1/acl/bootstrap", "", ""); code != 403 || !strings.Contains(body, "no longer allowed") {
		t.Fatalf("second bootstrap on a follower: %d %s", code, body)
	}
	for _, s := range []string{"web", "db"} {
		if code, body := call(t, "PUT", f.HTTP.URL+"/v1/service/"+s, op.SecretID, `{"class":"standard"}`); code != 200 {
			t.Fatalf("register %s via follower: %d %s", s, code, body)
		}
	}
	bid := createToken(t, l.HTTP.URL, op.SecretID, "bid", "web")
	waitFor(t, "the token on the follower", func() bool {
		_, ok := f.Server.FSM().ACLToken(bid.AccessorID)
		return ok
	})
	waitFor(t, "member n1 on the leader", func() bool {
		for _, m := range l.Server.FSM().Members() {
			if m.Name == "n1" && m.Client {
				return true
			}
		}
		return false
	})
	if code, body := call(t, "GET", f.HTTP.URL+"/v1/services", bid.SecretID, ""); code != 200 {
		t.Fatalf("replicated token on the follower: %d %s", code, body)
	}
	if code, body := call(t, "PUT", f.HTTP.URL+"/v1/bids", bid.SecretID, bidJSON("db")); code != 403 || !strings.Contains(msgOf(body), `"db"`) {
		t.Fatalf("bid for another service via a follower: %d %s", code, body)
	}
	if code, body := call(t, "PUT", f.HTTP.URL+"/v1/bids", bid.SecretID, bidJSON("web")); code != 200 {
		t.Fatalf("bid for its service via a follower: %d %s", code, body)
	}
	// The leader checks forwarded writes again: the forwarding header
	// grants nothing.
	if code, body := call(t, "PUT", l.HTTP.URL+"/v1/bids", bid.SecretID, bidJSON("db"), "X-Allot-Forwarded", "1"); code != 403 || !strings.Contains(msgOf(body), `"db"`) {
		t.Fatalf("forwarded bid for another service on the leader: %d %s", code, body)
	}
	if code, body := call(t, "PUT", l.HTTP.URL+"/v1/bids", "", bidJSON("web"), "X-Allot-Forwarded", "1"); code != 403 || !strings.Contains(body, "missing") {
		t.Fatalf("forwarded bid without a token on the leader: %d %s", code, body)
	}
	// Only the bid for web reached the log.
	if bids := l.Server.FSM().Bids(); len(bids) != 1 || bids[0].Service != "web" {
		t.Fatalf("bids on the leader %+v", bids)
	}
}

// agentOnly is a client-only agent's view: one live server.
type agentOnly struct{ server string }

func (a agentOnly) Self() api.Self {
	return api.Self{ID: "c1", Name: "c1", Client: true, Role: "client"}
}
func (a agentOnly) Members() []gossip.Member {
	return []gossip.Member{{Meta: gossip.Meta{ID: "id-1", Name: "n1", Server: true, HTTPAddr: a.server}, Status: gossip.StatusAlive}}
}
func (a agentOnly) Join(addrs []string) (int, error) { return 0, fmt.Errorf("no gossip in tests") }
func (a agentOnly) Leave(ctx context.Context) error  { return fmt.Errorf("no gossip in tests") }

// TestACLClientOnlyAgent: an agent without Raft state resolves tokens by
// asking a server, for its local endpoints too.
func TestACLClientOnlyAgent(t *testing.T) {
	base, op, read, bid, _ := aclCluster(t)
	cl := httptest.NewServer(api.NewServer(api.Options{Agent: agentOnly{server: strings.TrimPrefix(base, "http://")}, ACLEnabled: true, NoLeaderWait: time.Second}))
	defer cl.Close()
	cases := []struct {
		method, path, token, body string
		code                      int
		errPart                   string
	}{
		{"GET", "/v1/agent/self", "", "", 403, "missing X-Allot-Token"},
		{"GET", "/v1/agent/self", "nope", "", 403, "ACL token not found"},
		{"GET", "/v1/agent/self", read.SecretID, "", 200, ""},
		{"GET", "/v1/services", read.SecretID, "", 200, ""},
		{"PUT", "/v1/agent/join?address=x:1", read.SecretID, "", 403, "permission denied"},
		{"PUT", "/v1/bids", bid.SecretID, bidJSON("db"), 403, `"db"`},
		{"PUT", "/v1/bids", bid.SecretID, bidJSON("web"), 200, ""},
		{"GET", "/v1/acl/tokens", op.SecretID, "", 200, ""},
		{"GET", "/v1/health", "", "", 200, ""},
	}
	for _, tc := range cases {
		code, body := call(t, tc.method, cl.URL+tc.path, tc.token, tc.body)
		if code != tc.code || !strings.Contains(msgOf(body), tc.errPart) {
			t.Fatalf("%s %s: %d %s, want %d naming %q", tc.method, tc.path, code, body, tc.code, tc.errPart)
		}
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/audit"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
)

// Issue 13 (audit): every write a leader accepts is recorded — who (the
// accessor, the caller's address even through a follower), what, when, at
// which index — and `allot audit` reads it; refused writes are not there.
func TestAuditLog(t *testing.T) {
	c := testcluster.Start(t, 3, time.Hour, testcluster.WithACL(), func(o *api.Options) {
		dir := t.TempDir()
		l, err := audit.Open(dir, 1<<20, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		o.Audit = l
	})
	l := c.Leader(10 * time.Second)
	laddr := l.HTTP.Listener.Addr().String()
	_, out, _ := runCLI(laddr, nil, "acl", "bootstrap", "--json")
	var boot api.ACLTokenView
	if err := json.Unmarshal([]byte(out), &boot); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ALLOT_TOKEN": boot.SecretID}
	f := c.Followers()[0]
	waitfor.True(t, "the follower to have the token", 5*time.Second, func() bool { return f.Server.FSM().ACLBootstrapIndex() != 0 })
	faddr := f.HTTP.Listener.Addr().String()
	if code, _, errs := runCLI(faddr, env, "boost", "ghost", "--factor", "2", "--ttl", "1m", "--reason", "x"); code == 0 {
		t.Fatalf("boost of an unregistered service accepted: %s", errs)
	}
	ctx := t.Context()
	if _, err := c.Followers()[0].ClientWithToken(boot.SecretID).Do(ctx, "PUT", "/v1/service/web", map[string]string{"class": "critical"}, nil); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(laddr, env, "audit", "--json")
	var recs []audit.Record
	if code != 0 || json.Unmarshal([]byte(out), &recs) != nil {
		t.Fatalf("audit --json: exit %d: %s %s", code, out, errs)
	}
	if len(recs) != 2 || recs[0].Command != "PUT /v1/acl/bootstrap" || recs[1].Command != "PUT /v1/service/{name}" || recs[1].Key != "/v1/service/web" ||
		recs[1].Accessor != boot.AccessorID || recs[1].Client != "127.0.0.1" || recs[1].Index == 0 {
		t.Fatalf("audit records: %+v", recs)
	}
	code, out, _ = runCLI(laddr, env, "audit", "--since", "1h")
	if code != 0 || !strings.Contains(out, "/v1/service/web") || !strings.Contains(out, boot.AccessorID) {
		t.Fatalf("audit table: exit %d: %s", code, out)
	}
	if code, _, errs := runCLI(laddr, map[string]string{}, "audit"); code == 0 || !strings.Contains(errs, "X-Allot-Token") {
		t.Fatalf("audit without a token: exit %d %s", code, errs)
	}
}

package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/tlsutil"
)

// TestMutualTLSCluster runs three server agents with --tls-ca/--tls-cert/
// --tls-key on loopback: real gossip, Raft over TCP+TLS, HTTPS APIs. The
// servers bootstrap (which needs the HTTPS probe between them), elect a
// leader, and a write sent to a follower is forwarded over HTTPS to the
// leader and replicated to all. A CLI-style client with a client
// certificate works; plain HTTP, no client certificate, a certificate of
// another CA, and trusting another CA all fail with a clear error.
func TestMutualTLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three agents")
	}
	dir := t.TempDir()
	ca, caKey, err := tlsutil.CreateCA(dir, tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cert := func(role tlsutil.Role) (string, string) {
		c, k, err := tlsutil.CreateCert(dir, ca, caKey, tlsutil.CertOptions{Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	odir := t.TempDir()
	oca, ocaKey, err := tlsutil.CreateCA(odir, tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ocli, ocliKey, err := tlsutil.CreateCert(odir, oca, ocaKey, tlsutil.CertOptions{Role: tlsutil.RoleClient})
	if err != nil {
		t.Fatal(err)
	}

	const n = 3
	rs := startServersWith(t, n, "t", func(int) []string {
		c, k := cert(tlsutil.RoleServer)
		return []string{"--tls-ca", ca, "--tls-cert", c, "--tls-key", k}
	})

	cli, cliKey := cert(tlsutil.RoleClient)
	good, err := tlsutil.ClientFiles(ca, cli, cliKey, "")
	if err != nil {
		t.Fatal(err)
	}
	client := func(r *running, tc *tls.Config) *api.Client { return api.NewClientTLS(r.http, "", tc) }
	var lname string
	waitFor(t, "a leader with 3 voters over TLS", 60*time.Second, func() bool {
		v, l := peersVia(client(rs[0], good))
		lname = l
		return v == 3 && l != ""
	})
	var follower *running
	for _, r := range rs {
		if r.name != lname {
			follower = r
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc := bidding.Service{Name: "tls-web", Class: bidding.ClassStandard, Min: bidding.Vec{100, 64 << 20}, Max: bidding.Vec{2000, 2 << 30}}
	if _, err := client(follower, good).Do(ctx, "PUT", "/v1/service/tls-web", svc, nil); err != nil {
		t.Fatalf("write through follower %s (forwarded over HTTPS): %v", follower.name, err)
	}
	for _, r := range rs {
		waitFor(t, "the service on "+r.name, 10*time.Second, func() bool {
			_, err := client(r, good).Do(ctx, "GET", "/v1/service/tls-web", nil, nil)
			return err == nil
		})
	}

	// Refusals.
	noCert, err := tlsutil.ClientFiles(ca, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := tlsutil.ClientFiles(ca, ocli, ocliKey, "")
	if err != nil {
		t.Fatal(err)
	}
	trustsOther, err := tlsutil.ClientFiles(oca, cli, cliKey, "")
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	cases := []struct {
		name string
		c    *api.Client
		want string
	}{
		{"plain HTTP", api.NewClient(r.http, ""), "serves HTTPS"},
		{"no client certificate", client(r, noCert), "client certificate"},
		{"client certificate of another CA", client(r, foreign), "client certificate"},
		{"agent not trusted", client(r, trustsOther), "x509"},
	}
	for _, c := range cases {
		_, err := c.c.Do(ctx, "GET", "/v1/status/peers", nil, nil)
		t.Logf("%s: %v", c.name, err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
		var ae *api.Error
		if c.name == "plain HTTP" && (!errors.As(err, &ae) || ae.Code != 400) {
			t.Errorf("plain HTTP: %v, want a 400", err)
		}
	}
}

package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func serial(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.SerialNumber.String()
}

// Issue 13: a rotated certificate is served after Reload (SIGHUP), without
// a restart; a bad one is refused and the one in use stays.
func TestReload(t *testing.T) {
	p := newPKI(t)
	c, err := Load(Files{CA: p.ca, Cert: p.srv, Key: p.srvKey})
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := c.ServerConfig(""), c.ClientConfig(ServerName)
	first, _ := srv.GetCertificate(nil)
	before := serial(t, first)

	// Rotate: the client pair's files (same CA) replace the server's.
	for src, dst := range map[string]string{p.cli: p.srv, p.cliKey: p.srvKey} {
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	now, _ := srv.GetCertificate(nil)
	asClient, _ := cli.GetClientCertificate(nil)
	if serial(t, now) == before || serial(t, asClient) != serial(t, now) {
		t.Fatalf("after Reload: server %s, client %s, before %s", serial(t, now), serial(t, asClient), before)
	}

	os.WriteFile(p.srvKey, []byte("not a key"), 0o600)
	if err := c.Reload(); err == nil {
		t.Fatal("a broken key file was loaded")
	}
	if still, _ := srv.GetCertificate(nil); serial(t, still) != serial(t, now) {
		t.Fatal("a failed Reload changed the certificate in use")
	}
}

// both is handshake's first error, nil when both ends succeeded.
func both(t *testing.T, srv, cli *tls.Config) error {
	t.Helper()
	serr, cerr := handshake(t, srv, cli)
	if serr != nil {
		return serr
	}
	return cerr
}

// Issue 13: Reload takes a new CA too (a CA rotation without a restart):
// after the files change to another CA's, both ends trust only the CA now
// in the file, for handshakes in either direction.
func TestReloadCA(t *testing.T) {
	old := newPKI(t)
	c, err := Load(Files{CA: old.ca, Cert: old.srv, Key: old.srvKey})
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := c.ServerConfig(ServerName), c.ClientConfig(ServerName)
	if err := both(t, srv, cli); err != nil {
		t.Fatalf("handshake under the first CA: %v", err)
	}
	// Another agent that already moved to a new CA.
	nu := newPKI(t)
	peer, err := Load(Files{CA: nu.ca, Cert: nu.srv, Key: nu.srvKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := both(t, srv, peer.ClientConfig(ServerName)); err == nil {
		t.Fatal("a certificate of another CA was accepted before the reload")
	}
	// Rotate this agent's three files to the new CA.
	for src, dst := range map[string]string{nu.ca: old.ca, nu.srv: old.srv, nu.srvKey: old.srvKey} {
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := both(t, srv, peer.ClientConfig(ServerName)); err != nil {
		t.Fatalf("server side: the new CA's peer is refused after the reload: %v", err)
	}
	if err := both(t, peer.ServerConfig(ServerName), cli); err != nil {
		t.Fatalf("client side: the new CA's server is refused after the reload: %v", err)
	}
	oldPeer := newPKI(t) // a third CA: still refused
	op, _ := Load(Files{CA: oldPeer.ca, Cert: oldPeer.srv, Key: oldPeer.srvKey})
	if err := both(t, srv, op.ClientConfig(ServerName)); err == nil {
		t.Fatal("a certificate of a CA not in the file was accepted")
	}
	if err := both(t, op.ServerConfig(ServerName), cli); err == nil {
		t.Fatal("a server of a CA not in the file was trusted")
	}
}

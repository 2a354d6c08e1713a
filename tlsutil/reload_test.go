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

package agent

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/allot-dev/allot/tlsutil"
	"github.com/hashicorp/go-hclog"
)

type hupLog struct{ lines chan string }

func (h hupLog) Write(p []byte) (int, error) { h.lines <- string(p); return len(p), nil }

// Issue 13: SIGHUP reloads the agent's TLS CA, certificate and key (a
// rotation without a restart).
func TestSIGHUPReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, _ := tlsutil.CreateCA(dir, tlsutil.CAOptions{})
	c1, k1, _ := tlsutil.CreateCert(dir, ca, caKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	certs, err := tlsutil.Load(tlsutil.Files{CA: ca, Cert: c1, Key: k1})
	if err != nil {
		t.Fatal(err)
	}
	srv := certs.ServerConfig("")
	before, _ := srv.GetCertificate(nil)
	odir := t.TempDir()
	c2, k2, _ := tlsutil.CreateCert(odir, ca, caKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	for src, dst := range map[string]string{c2: c1, k2: k1} {
		b, _ := os.ReadFile(src)
		os.WriteFile(dst, b, 0o600)
	}
	sighup(t, certs)
	after, _ := srv.GetCertificate(nil)
	if string(after.Certificate[0]) == string(before.Certificate[0]) {
		t.Fatal("SIGHUP did not change the certificate served")
	}
}

// Issue 13: SIGHUP reloads the CA too: after the CA file is replaced by a
// new CA's (and the certificate by one it signed), the agent's listener
// accepts that CA's peers and its clients trust that CA's servers.
func TestSIGHUPReloadsCA(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, _ := tlsutil.CreateCA(dir, tlsutil.CAOptions{})
	c1, k1, _ := tlsutil.CreateCert(dir, ca, caKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	certs, err := tlsutil.Load(tlsutil.Files{CA: ca, Cert: c1, Key: k1})
	if err != nil {
		t.Fatal(err)
	}
	ndir := t.TempDir()
	nca, ncaKey, _ := tlsutil.CreateCA(ndir, tlsutil.CAOptions{})
	nc, nk, _ := tlsutil.CreateCert(ndir, nca, ncaKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	peer, err := tlsutil.Load(tlsutil.Files{CA: nca, Cert: nc, Key: nk})
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := certs.ServerConfig(tlsutil.ServerName), certs.ClientConfig(tlsutil.ServerName)
	if err := pipeHandshake(srv, peer.ClientConfig(tlsutil.ServerName)); err == nil {
		t.Fatal("a peer of another CA was accepted before the CA changed")
	}
	nc2, nk2, _ := tlsutil.CreateCert(t.TempDir(), nca, ncaKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	for src, dst := range map[string]string{nca: ca, nc2: c1, nk2: k1} {
		b, _ := os.ReadFile(src)
		os.WriteFile(dst, b, 0o600)
	}
	sighup(t, certs)
	if err := pipeHandshake(srv, peer.ClientConfig(tlsutil.ServerName)); err != nil {
		t.Fatalf("the listener refuses the new CA's peer after SIGHUP: %v", err)
	}
	if err := pipeHandshake(peer.ServerConfig(tlsutil.ServerName), cli); err != nil {
		t.Fatalf("the agent's client does not trust the new CA's server after SIGHUP: %v", err)
	}
}

// pipeHandshake runs one mutual-TLS handshake over an in-memory pipe and
// returns the first error of either end (TLS 1.3 reports a refused client
// certificate on the client's first read).
func pipeHandshake(srv, cli *tls.Config) error {
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(a, srv)
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte("ok"))
		}
		a.Close()
		done <- err
	}()
	c := tls.Client(b, cli)
	cerr := c.Handshake()
	if cerr == nil {
		_, cerr = c.Read(make([]byte, 2))
	}
	b.Close()
	if serr := <-done; serr != nil {
		return serr
	}
	return cerr
}

// sighup runs an agent's reload loop over certs, sends it SIGHUP and waits
// until the reload is logged.
func sighup(t *testing.T, certs *tlsutil.Certs) {
	t.Helper()
	logs := hupLog{lines: make(chan string, 16)}
	a := &Agent{log: hclog.New(&hclog.LoggerOptions{Output: logs}), tls: &agentTLS{certs: certs}}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.reloadOnHUP(ctx, hup)
	hup <- syscall.SIGHUP
	waitfor.True(t, "the reload logged", 5*time.Second, func() bool {
		select {
		case l := <-logs.lines:
			return strings.Contains(l, "reloaded the TLS CA and certificate")
		default:
			return false
		}
	})
}

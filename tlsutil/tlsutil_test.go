package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a CA with one server and one client certificate in a temp dir.
type pki struct {
	dir, ca, caKey, srv, srvKey, cli, cliKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	var p pki
	p.dir = t.TempDir()
	var err error
	if p.ca, p.caKey, err = CreateCA(p.dir, CAOptions{}); err != nil {
		t.Fatal(err)
	}
	if p.srv, p.srvKey, err = CreateCert(p.dir, p.ca, p.caKey, CertOptions{Role: RoleServer, IPs: []net.IP{net.ParseIP("10.0.0.7")}, DNSNames: []string{"n1.example"}}); err != nil {
		t.Fatal(err)
	}
	if p.cli, p.cliKey, err = CreateCert(p.dir, p.ca, p.caKey, CertOptions{Role: RoleClient}); err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCreateWritesConsulStyleFiles(t *testing.T) {
	p := newPKI(t)
	for _, c := range []struct {
		path string
		perm os.FileMode
	}{{p.ca, 0o644}, {p.caKey, 0o600}, {p.srv, 0o644}, {p.srvKey, 0o600}, {p.cli, 0o644}, {p.cliKey, 0o600}} {
		st, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != c.perm {
			t.Errorf("%s: mode %v, want %v", c.path, st.Mode().Perm(), c.perm)
		}
	}
	want := map[string]string{p.ca: "allot-agent-ca.pem", p.caKey: "allot-agent-ca-key.pem", p.srv: "dc-server-allot-0.pem",
		p.srvKey: "dc-server-allot-0-key.pem", p.cli: "dc-client-allot-0.pem", p.cliKey: "dc-client-allot-0-key.pem"}
	for path, name := range want {
		if filepath.Base(path) != name {
			t.Errorf("wrote %s, want %s", filepath.Base(path), name)
		}
	}
	c, err := Load(Files{CA: p.ca, Cert: p.srv, Key: p.srvKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ServerName, "localhost", "127.0.0.1", "10.0.0.7", "n1.example"} {
		if err := c.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("server certificate does not name %s: %v", name, err)
		}
	}
	if c.Leaf.VerifyHostname(ClientName) == nil {
		t.Errorf("server certificate names %s", ClientName)
	}
	if pk, ok := c.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || pk.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.Leaf.PublicKey)
	}
	cl, err := Load(Files{CA: p.ca, Cert: p.cli, Key: p.cliKey})
	if err != nil {
		t.Fatal(err)
	}
	if cl.Leaf.VerifyHostname(ClientName) != nil || cl.Leaf.VerifyHostname(ServerName) == nil {
		t.Errorf("client certificate names %v", cl.Leaf.DNSNames)
	}
}

func TestCreateNeverOverwrites(t *testing.T) {
	p := newPKI(t)
	before, _ := os.ReadFile(p.ca)
	if _, _, err := CreateCA(p.dir, CAOptions{}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second CA create: %v, want a refusal", err)
	}
	after, _ := os.ReadFile(p.ca)
	if string(before) != string(after) {
		t.Fatal("CA file changed")
	}
	// A lone key file blocks the CA too.
	d := t.TempDir()
	write(t, d, CAKeyFile, "x")
	if _, _, err := CreateCA(d, CAOptions{}); err == nil {
		t.Fatal("CA create over an existing key file succeeded")
	}
	// Certificates take the next free index.
	srv1, key1, err := CreateCert(p.dir, p.ca, p.caKey, CertOptions{Role: RoleServer})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(srv1) != "dc-server-allot-1.pem" || filepath.Base(key1) != "dc-server-allot-1-key.pem" {
		t.Fatalf("second server certificate written as %s, %s", srv1, key1)
	}
	// A stray key file with index 2 is skipped, not overwritten.
	write(t, p.dir, "dc-server-allot-2-key.pem", "mine")
	srv3, _, err := CreateCert(p.dir, p.ca, p.caKey, CertOptions{Role: RoleServer})
	if err != nil || filepath.Base(srv3) != "dc-server-allot-3.pem" {
		t.Fatalf("got %s, %v; want dc-server-allot-3.pem", srv3, err)
	}
	if b, _ := os.ReadFile(filepath.Join(p.dir, "dc-server-allot-2-key.pem")); string(b) != "mine" {
		t.Fatal("stray key overwritten")
	}
}

func TestCreateCertErrors(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	cases := []struct {
		name, ca, key string
		role          Role
		want          string
	}{
		{"missing CA", filepath.Join(p.dir, "nope.pem"), p.caKey, RoleServer, "reading CA file"},
		{"missing CA key", p.ca, filepath.Join(p.dir, "nope.pem"), RoleServer, "reading CA key file"},
		{"key of another CA", p.ca, other.caKey, RoleServer, "does not belong"},
		{"leaf as CA", p.srv, p.srvKey, RoleServer, "not a CA"},
		{"bad role", p.ca, p.caKey, "operator", "must be server or client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := CreateCert(t.TempDir(), c.ca, c.key, CertOptions{Role: c.role})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	d := t.TempDir()
	empty := write(t, d, "empty.pem", "")
	garbage := write(t, d, "garbage.pem", "hello, not PEM\n")
	badDER := write(t, d, "bad-der.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	missing := filepath.Join(d, "missing.pem")
	cases := []struct {
		name  string
		f     Files
		which Which
		path  string
		want  string
	}{
		{"CA missing", Files{missing, p.srv, p.srvKey}, WhichCA, missing, "no such file"},
		{"CA empty", Files{empty, p.srv, p.srvKey}, WhichCA, empty, "empty file"},
		{"CA not PEM", Files{garbage, p.srv, p.srvKey}, WhichCA, garbage, "no PEM CERTIFICATE"},
		{"CA is a key", Files{p.caKey, p.srv, p.srvKey}, WhichCA, p.caKey, "no PEM CERTIFICATE"},
		{"CA bad DER", Files{badDER, p.srv, p.srvKey}, WhichCA, badDER, "certificate 1"},
		{"CA unset", Files{"", p.srv, p.srvKey}, WhichCA, "", "no file given"},
		{"cert missing", Files{p.ca, missing, p.srvKey}, WhichCert, missing, "no such file"},
		{"cert not PEM", Files{p.ca, garbage, p.srvKey}, WhichCert, garbage, "no PEM CERTIFICATE"},
		{"cert is the key", Files{p.ca, p.srvKey, p.srvKey}, WhichCert, p.srvKey, "no PEM CERTIFICATE"},
		{"key missing", Files{p.ca, p.srv, missing}, WhichKey, missing, "no such file"},
		{"key not PEM", Files{p.ca, p.srv, garbage}, WhichKey, garbage, "no PEM private key"},
		{"key is a cert", Files{p.ca, p.srv, p.srv}, WhichKey, p.srv, "certificate where a private key"},
		{"key of another cert", Files{p.ca, p.srv, p.cliKey}, WhichKey, p.cliKey, "does not belong"},
		{"cert of another CA", Files{p.ca, other.srv, other.srvKey}, WhichCert, other.srv, "not signed by the CA"},
		{"CA key unset", Files{p.ca, p.srv, ""}, WhichKey, "", "no file given"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.f)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *FileError", err, err)
			}
			if fe.Which != c.which || fe.Path != c.path || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q (%s %q), want %s %q containing %q", err, fe.Which, fe.Path, c.which, c.path, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestLoadRefusesExpiredCertificate(t *testing.T) {
	p := newPKI(t)
	_, err := loadAt(Files{p.ca, p.srv, p.srvKey}, time.Now().Add(400*24*time.Hour))
	var fe *FileError
	if !errors.As(err, &fe) || fe.Which != WhichCert || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a year and more later: %v, want an expiry error naming the certificate file", err)
	}
}

func TestClientFiles(t *testing.T) {
	p := newPKI(t)
	if _, err := ClientFiles(p.ca, p.cli, p.cliKey, ""); err != nil {
		t.Fatal(err)
	}
	if c, err := ClientFiles(p.ca, "", "", ""); err != nil || len(c.Certificates) != 0 {
		t.Fatalf("CA only: %v", err)
	}
	for _, c := range []struct {
		ca, cert, key string
		which         Which
	}{{"/nonexistent", "", "", WhichCA}, {p.ca, p.cli, "", WhichKey}, {p.ca, "", p.cliKey, WhichCert}, {p.ca, p.cli, p.srvKey, WhichKey}} {
		_, err := ClientFiles(c.ca, c.cert, c.key, "")
		var fe *FileError
		if !errors.As(err, &fe) || fe.Which != c.which {
			t.Errorf("ClientFiles(%q, %q, %q): %v, want an error about the %s", c.ca, c.cert, c.key, err, c.which)
		}
	}
}

// handshake runs a TLS handshake over an in-memory pipe and returns the
// server's and the client's error.
func handshake(t *testing.T, srv, cli *tls.Config) (serr, cerr error) {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(a, srv)
		err := s.Handshake()
		if err == nil {
			// TLS 1.3: the client learns of a refusal on its first read.
			_, err = s.Write([]byte("ok"))
		}
		a.Close() // not s.Close: nobody reads its close_notify on a pipe
		done <- err
	}()
	c := tls.Client(b, cli)
	cerr = c.Handshake()
	if cerr == nil {
		buf := make([]byte, 2)
		_, cerr = c.Read(buf)
	}
	b.Close()
	return <-done, cerr
}

func TestMutualTLSHandshakes(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	load := func(ca, cert, key string) *Certs {
		c, err := Load(Files{ca, cert, key})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srv := load(p.ca, p.srv, p.srvKey)
	cli := load(p.ca, p.cli, p.cliKey)
	rogue := load(other.ca, other.srv, other.srvKey)
	noCert, err := ClientFiles(p.ca, "", "", ServerName)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		srv, cli *tls.Config
		ok       bool
	}{
		{"server to server (raft)", srv.ServerConfig(ServerName), srv.ClientConfig(ServerName), true},
		{"client cert to HTTPS", srv.ServerConfig(""), cli.ClientConfig(ServerName), true},
		{"client cert to raft", srv.ServerConfig(ServerName), cli.ClientConfig(ServerName), false},
		{"no client cert", srv.ServerConfig(""), noCert, false},
		{"client from another CA", srv.ServerConfig(""), rogue.ClientConfig(ServerName), false},
		{"server from another CA", rogue.ServerConfig(""), srv.ClientConfig(ServerName), false},
		{"client dialing a client as a server", cli.ServerConfig(""), srv.ClientConfig(ServerName), false},
		{"by localhost", cli.ServerConfig(""), srv.ClientConfig("localhost"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			serr, cerr := handshake(t, c.srv, c.cli)
			if ok := serr == nil && cerr == nil; ok != c.ok {
				t.Fatalf("server error %v, client error %v; want success=%v", serr, cerr, c.ok)
			}
		})
	}
}

func FuzzDecodePEM(f *testing.F) {
	c, k, err := GenerateCA(CAOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add(k)
	f.Add(append(append([]byte{}, k...), c...))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\n\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		if certs, err := decodeCertificates(b); err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		if key, err := decodeKey(b); err == nil && key == nil {
			t.Fatal("no error and no key")
		}
	})
}

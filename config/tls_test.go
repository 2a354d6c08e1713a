package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/tlsutil"
)

func TestTLSSettings(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, err := tlsutil.CreateCA(dir, tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := tlsutil.CreateCert(dir, ca, caKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := tlsutil.CreateCert(dir, ca, caKey, tlsutil.CertOptions{Role: tlsutil.RoleClient})
	if err != nil {
		t.Fatal(err)
	}
	odir := t.TempDir()
	oca, ocaKey, err := tlsutil.CreateCA(odir, tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ocert, okey, err := tlsutil.CreateCert(odir, oca, ocaKey, tlsutil.CertOptions{Role: tlsutil.RoleServer})
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "notes.txt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644)
	hcl := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	good := hcl("good.hcl", `tls { ca_file = "`+ca+`"  cert_file = "`+cert+`"  key_file = "`+key+`" }`)
	mismatch := hcl("mismatch.hcl", `tls { ca_file = "`+ca+`"  cert_file = "`+cert+`"  key_file = "`+otherKey+`" }`)
	base := []string{"--server", "--data-dir", dir}
	flags := func(ca, cert, key string) []string {
		return append(append([]string{}, base...), "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want []string // parts of the error; nil: valid
	}{
		{"all three flags", flags(ca, cert, key), nil, nil},
		{"config file", append(append([]string{}, base...), "--config", good), nil, nil},
		{"environment", base, map[string]string{"ALLOT_TLS_CA": ca, "ALLOT_TLS_CERT": cert, "ALLOT_TLS_KEY": key}, nil},
		{"none", base, nil, nil},
		{"CA only", append(append([]string{}, base...), "--tls-ca", ca), nil, []string{"flag --tls-ca", "tls.cert_file (--tls-cert) is not", "all three"}},
		{"no key", append(append([]string{}, base...), "--tls-ca", ca, "--tls-cert", cert), nil, []string{"flag --tls-ca", "tls.key_file (--tls-key) is not"}},
		{"key only from env", base, map[string]string{"ALLOT_TLS_KEY": key}, []string{"ALLOT_TLS_KEY", "tls.ca_file (--tls-ca) is not"}},
		{"CA missing", flags(filepath.Join(dir, "nope.pem"), cert, key), nil, []string{"flag --tls-ca", "nope.pem", "cannot be read"}},
		{"CA not PEM", flags(notPEM, cert, key), nil, []string{"flag --tls-ca", "notes.txt", "no PEM CERTIFICATE"}},
		{"cert missing", flags(ca, filepath.Join(dir, "nope.pem"), key), nil, []string{"flag --tls-cert", "cannot be read"}},
		{"cert is a key", flags(ca, key, key), nil, []string{"flag --tls-cert", "no PEM CERTIFICATE"}},
		{"key not PEM", flags(ca, cert, notPEM), nil, []string{"flag --tls-key", "no PEM private key"}},
		{"key of another certificate (file)", append(append([]string{}, base...), "--config", mismatch), nil, []string{"tls.key_file in mismatch.hcl", "does not belong"}},
		{"certificate of another CA", flags(ca, ocert, okey), nil, []string{"flag --tls-cert", "not signed by the CA"}},
		{"env cert of another CA", base, map[string]string{"ALLOT_TLS_CA": ca, "ALLOT_TLS_CERT": ocert, "ALLOT_TLS_KEY": okey}, []string{"ALLOT_TLS_CERT", "not signed"}},
		{"flag beats env", flags(ca, cert, key), map[string]string{"ALLOT_TLS_CERT": ocert}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(c.args, env(c.env), io.Discard)
			if c.want == nil {
				if err != nil {
					t.Fatalf("valid TLS settings refused: %v", err)
				}
				if want := c.name != "none"; cfg.TLSEnabled() != want {
					t.Fatalf("TLSEnabled %v, want %v", cfg.TLSEnabled(), want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error naming %q", c.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *config.Error (exit 2)", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

package agent

import (
	"context"
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

// Issue 13: SIGHUP reloads the agent's TLS certificate (a rotation without
// a restart).
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
			return strings.Contains(l, "reloaded the TLS certificate")
		default:
			return false
		}
	})
	after, _ := srv.GetCertificate(nil)
	if string(after.Certificate[0]) == string(before.Certificate[0]) {
		t.Fatal("SIGHUP did not change the certificate served")
	}
}

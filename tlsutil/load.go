package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"
)

// Which names one of the three files of a TLS configuration.
type Which string

// The three files.
const (
	WhichCA   Which = "CA file"
	WhichCert Which = "certificate file"
	WhichKey  Which = "key file"
)

// FileError is a problem with one file: missing, unreadable, not PEM, not
// matching another file, or not signed by the CA.
type FileError struct {
	Which Which
	Path  string
	Err   error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s %q: %v", e.Which, e.Path, e.Err) }

// readFile reads a file; its error names the file once (not twice, as
// *fs.PathError inside a FileError would).
func readFile(which Which, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{Which: which, Path: path, Err: fmt.Errorf("cannot be read: %w", err)}
	}
	return b, nil
}
func (e *FileError) Unwrap() error { return e.Err }

// Files are the paths of a TLS configuration.
type Files struct {
	CA, Cert, Key string
}

// Certs is a loaded CA pool with this node's certificate and key.
type Certs struct {
	Files Files
	Leaf  *x509.Certificate // as loaded first; Reload does not change it
	// live is the CA pool and certificate every new connection uses (of
	// every tls.Config made from c): Reload replaces both at once.
	live atomic.Pointer[material]
}

// material is one consistent load of the three files.
type material struct {
	pool *x509.CertPool
	cert tls.Certificate
}

// Reload reads the CA, certificate and key files again and, when the
// certificate is valid under the CA, uses them for every new connection of
// every tls.Config made from c: a rotated certificate, or a new CA bundle
// (during a CA rotation it holds the old and the new CA), without a
// restart. On an error everything in use stays.
func (c *Certs) Reload() error {
	n, err := Load(c.Files)
	if err != nil {
		return err
	}
	c.live.Store(n.live.Load())
	return nil
}

func (c *Certs) current() *material { return c.live.Load() }

// Load reads and checks the three files: each must exist and be PEM, the
// key must belong to the certificate, and the certificate must be valid
// now under the CA. Errors are *FileError naming the file.
func Load(f Files) (*Certs, error) {
	return loadAt(f, time.Now())
}

func loadAt(f Files, now time.Time) (*Certs, error) {
	pool, cas, err := loadPool(f.CA)
	if err != nil {
		return nil, err
	}
	cert, leaf, err := loadPair(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range cert.Certificate[1:] {
		if ic, err := x509.ParseCertificate(c); err == nil {
			inter.AddCert(ic)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		var why error = err
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			why = fmt.Errorf("not signed by the CA in %q (%s)", f.CA, cas[0].Subject.CommonName)
		}
		return nil, &FileError{Which: WhichCert, Path: f.Cert, Err: why}
	}
	c := &Certs{Files: f, Leaf: leaf}
	c.live.Store(&material{pool: pool, cert: cert})
	return c, nil
}

func loadPool(path string) (*x509.CertPool, []*x509.Certificate, error) {
	if path == "" {
		return nil, nil, &FileError{Which: WhichCA, Path: path, Err: errors.New("no file given")}
	}
	b, err := readFile(WhichCA, path)
	if err != nil {
		return nil, nil, err
	}
	cas, err := decodeCertificates(b)
	if err != nil {
		return nil, nil, &FileError{Which: WhichCA, Path: path, Err: err}
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	return pool, cas, nil
}

func loadPair(certPath, keyPath string) (tls.Certificate, *x509.Certificate, error) {
	var zero tls.Certificate
	if certPath == "" {
		return zero, nil, &FileError{Which: WhichCert, Path: certPath, Err: errors.New("no file given")}
	}
	if keyPath == "" {
		return zero, nil, &FileError{Which: WhichKey, Path: keyPath, Err: errors.New("no file given")}
	}
	cb, err := readFile(WhichCert, certPath)
	if err != nil {
		return zero, nil, err
	}
	chain, err := decodeCertificates(cb)
	if err != nil {
		return zero, nil, &FileError{Which: WhichCert, Path: certPath, Err: err}
	}
	kb, err := readFile(WhichKey, keyPath)
	if err != nil {
		return zero, nil, err
	}
	key, err := decodeKey(kb)
	if err != nil {
		return zero, nil, &FileError{Which: WhichKey, Path: keyPath, Err: err}
	}
	if !samePublicKey(chain[0].PublicKey, key.Public()) {
		return zero, nil, &FileError{Which: WhichKey, Path: keyPath, Err: fmt.Errorf("does not belong to the certificate in %q", certPath)}
	}
	c := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c, chain[0], nil
}

// ServerConfig is for listeners (HTTPS API, Raft): it presents this node's
// certificate and requires a client certificate signed by the CA. With
// peerName set, the client's certificate must also be valid for that name
// (Raft takes only ServerName, so a client certificate cannot speak Raft).
// Each handshake takes the CA and certificate in use at that moment
// (GetConfigForClient), so Reload changes both.
func (c *Certs) ServerConfig(peerName string) *tls.Config {
	var verify func(tls.ConnectionState) error
	if peerName != "" {
		verify = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			if err := cs.PeerCertificates[0].VerifyHostname(peerName); err != nil {
				return fmt.Errorf("client certificate is not valid for %s: %w", peerName, err)
			}
			return nil
		}
	}
	forHandshake := func() *tls.Config {
		m := c.current()
		return &tls.Config{
			MinVersion:       tls.VersionTLS12,
			Certificates:     []tls.Certificate{m.cert},
			ClientCAs:        m.pool,
			ClientAuth:       tls.RequireAndVerifyClientCert,
			VerifyConnection: verify,
		}
	}
	cfg := forHandshake()
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &c.current().cert, nil }
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return forHandshake(), nil }
	return cfg
}

// ClientConfig is for dialing another agent: it presents this node's
// certificate and verifies the peer against the CA under serverName (for
// example ServerName, which every server certificate carries). The CA is
// the one in use at each handshake: crypto/tls's own verification is
// replaced by the same check against the current pool (its documented
// VerifyConnection pattern), so Reload changes it.
func (c *Certs) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c.current().cert, nil },
		ServerName:           serverName,
		InsecureSkipVerify:   true, // verified below, against the current CA
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			name := serverName
			if name == "" {
				name = cs.ServerName
			}
			if name == "" {
				return errors.New("no server name to verify the server's certificate for")
			}
			opts := x509.VerifyOptions{Roots: c.current().pool, DNSName: name, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		},
	}
}

// ClientFiles builds the TLS configuration of a CLI or API client: the CA
// to verify the agent with ("" means the system's roots), and an optional
// client certificate and key (both or neither). serverName overrides the
// name verified ("" means the host of the address dialled).
func ClientFiles(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pool, _, err := loadPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "":
		return nil, &FileError{Which: WhichCert, Path: "", Err: fmt.Errorf("a client key (%q) needs its certificate too", keyFile)}
	case keyFile == "":
		return nil, &FileError{Which: WhichKey, Path: "", Err: fmt.Errorf("a client certificate (%q) needs its key too", certFile)}
	default:
		cert, _, err := loadPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

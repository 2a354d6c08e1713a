// Package tlsutil makes and loads the certificates of Allot's mutual TLS:
// a cluster CA, server and client certificates (ECDSA P-256, crypto/x509
// only), and the *tls.Config values for the HTTP API and Raft.
package tlsutil

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Names every certificate made by GenerateCert carries, and that servers
// are verified against (Consul's server.dc1.consul, without datacenters).
const (
	ServerName = "server.allot"
	ClientName = "client.allot"
)

// Default file names (Consul's habit: consul-agent-ca.pem, dc1-server-consul-0.pem).
const (
	CAFile    = "allot-agent-ca.pem"
	CAKeyFile = "allot-agent-ca-key.pem"
)

// Role is what a certificate is for.
type Role string

// Roles.
const (
	RoleServer Role = "server"
	RoleClient Role = "client"
)

// CAOptions configure a new CA.
type CAOptions struct {
	Days       int       // validity; 0 means 1825 (five years)
	CommonName string    // "" means "Allot Agent CA <serial>"
	Now        time.Time // zero means time.Now()
}

// CertOptions configure a new server or client certificate.
type CertOptions struct {
	Role     Role
	Days     int // validity; 0 means 365
	DNSNames []string
	IPs      []net.IP
	Now      time.Time // zero means time.Now()
}

// GenerateCA makes a self-signed CA certificate and its key, PEM-encoded.
func GenerateCA(o CAOptions) (certPEM, keyPEM []byte, err error) {
	nk, err := newKey(o.Now, o.Days, 1825)
	if err != nil {
		return nil, nil, fmt.Errorf("CA: %w", err)
	}
	key, serial, skid, now, notAfter := nk.key, nk.serial, nk.skid, nk.now, nk.notAfter
	cn := o.CommonName
	if cn == "" {
		cn = "Allot Agent CA " + serial.Text(10)[:8]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Allot"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing CA certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// GenerateCert makes a certificate for a server or a client, signed by the
// CA given as PEM. Both roles may serve and dial (agents do both); a server
// certificate names ServerName, a client certificate ClientName; both name
// localhost and 127.0.0.1, plus o.DNSNames and o.IPs.
func GenerateCert(caCertPEM, caKeyPEM []byte, o CertOptions) (certPEM, keyPEM []byte, err error) {
	var name string
	switch o.Role {
	case RoleServer:
		name = ServerName
	case RoleClient:
		name = ClientName
	default:
		return nil, nil, fmt.Errorf("certificate role %q: must be server or client", o.Role)
	}
	cas, err := decodeCertificates(caCertPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	ca := cas[0]
	if !ca.IsCA {
		return nil, nil, errors.New("CA certificate: not a CA (basic constraints)")
	}
	caKey, err := decodeKey(caKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	if !samePublicKey(ca.PublicKey, caKey.Public()) {
		return nil, nil, errors.New("CA key does not belong to the CA certificate")
	}
	nk, err := newKey(o.Now, o.Days, 365)
	if err != nil {
		return nil, nil, err
	}
	key, serial, skid, now, notAfter := nk.key, nk.serial, nk.skid, nk.now, nk.notAfter
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter // a leaf outliving its CA would fail verification anyway
	}
	dns := dedupe(append([]string{name, "localhost"}, o.DNSNames...))
	ips := []net.IP{net.ParseIP("127.0.0.1")}
	for _, ip := range o.IPs {
		if !containsIP(ips, ip) {
			ips = append(ips, ip)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Allot"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:              dns,
		IPAddresses:           ips,
		SubjectKeyId:          skid,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing %s certificate: %w", o.Role, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// CreateCA writes a new CA (CAFile and CAKeyFile) into dir. It refuses to
// overwrite either file.
func CreateCA(dir string, o CAOptions) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists; refusing to overwrite it", p)
		}
	}
	c, k, err := GenerateCA(o)
	if err != nil {
		return "", "", err
	}
	if err := writePair(certPath, c, keyPath, k); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// CreateCert writes a new certificate signed by the CA in caPath/caKeyPath
// into dir as dc-ROLE-allot-N.pem and dc-ROLE-allot-N-key.pem, N being the
// first index for which neither file exists (so one CA directory can hold
// the certificates of every server; nothing is ever overwritten).
func CreateCert(dir, caPath, caKeyPath string, o CertOptions) (certPath, keyPath string, err error) {
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return "", "", fmt.Errorf("reading CA file: %w", err)
	}
	caKeyPEM, err := os.ReadFile(caKeyPath)
	if err != nil {
		return "", "", fmt.Errorf("reading CA key file: %w", err)
	}
	c, k, err := GenerateCert(caPEM, caKeyPEM, o)
	if err != nil {
		return "", "", fmt.Errorf("%s, %s: %w", caPath, caKeyPath, err)
	}
	for n := 0; n < 10000; n++ {
		base := filepath.Join(dir, "dc-"+string(o.Role)+"-allot-"+strconv.Itoa(n))
		certPath, keyPath = base+".pem", base+"-key.pem"
		if exists(certPath) || exists(keyPath) {
			continue
		}
		err := writePair(certPath, c, keyPath, k)
		if errors.Is(err, os.ErrExist) {
			continue // lost a race with another writer: take the next index
		}
		if err != nil {
			return "", "", err
		}
		return certPath, keyPath, nil
	}
	return "", "", fmt.Errorf("%s: no free certificate file name", dir)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// writePair writes a certificate (0644) and its key (0600), both with
// O_EXCL; if the second write fails the first file is removed again.
func writePair(certPath string, cert []byte, keyPath string, key []byte) error {
	if err := writeNew(certPath, cert, 0o644); err != nil {
		return err
	}
	if err := writeNew(keyPath, key, 0o600); err != nil {
		_ = os.Remove(certPath)
		return err
	}
	return nil
}

func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite it: %w", path, os.ErrExist)
		}
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// keyMaterial is what every new certificate starts from: a P-256 key, a
// random serial, the key's ID and the validity window.
type keyMaterial struct {
	key           *ecdsa.PrivateKey
	serial        *big.Int
	skid          []byte
	now, notAfter time.Time
}

// newKey makes a certificate's key material valid from now (zero: the
// clock) for days (≤ 0: defaultDays).
func newKey(now time.Time, days, defaultDays int) (*keyMaterial, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		now = time.Now()
	}
	if days <= 0 {
		days = defaultDays
	}
	return &keyMaterial{key: key, serial: serial, skid: skid, now: now, notAfter: now.Add(time.Duration(days) * 24 * time.Hour)}, nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never 0
}

func keyID(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// decodeCertificates returns every CERTIFICATE block of a PEM file, parsed.
// Other block types are skipped; no certificate at all is an error.
func decodeCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, errors.New("empty file, expected a PEM certificate")
		}
		return nil, errors.New("no PEM CERTIFICATE block found (is it a PEM file? is it the key?)")
	}
	return out, nil
}

// decodeKey returns the first private key block of a PEM file (EC, PKCS#8
// or PKCS#1).
func decodeKey(b []byte) (crypto.Signer, error) {
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		var k any
		var err error
		switch blk.Type {
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "CERTIFICATE":
			return nil, errors.New("holds a certificate where a private key was expected")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", blk.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: unsupported key type %T", blk.Type, k)
		}
		return s, nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("empty file, expected a PEM private key")
	}
	return nil, errors.New("no PEM private key block found (is it a PEM file?)")
}

package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/allot-dev/allot/tlsutil"
)

// loadTLS builds the CLI's TLS configuration for commands that talk to the
// API: HTTPS when a CA file or client certificate is given or the address
// is an https:// URL. A file that cannot be loaded is a usage error naming
// the flag. Commands that make certificates never load them.
func (e *env) loadTLS(cmd string) error {
	switch cmd {
	case "tls", "version", "keygen":
		return nil
	}
	g := e.g
	if g.caFile == "" && g.clientCert == "" && g.clientKey == "" && !strings.HasPrefix(g.httpAddr, "https://") {
		return nil
	}
	tc, err := tlsutil.ClientFiles(g.caFile, g.clientCert, g.clientKey, g.tlsServerName)
	if err != nil {
		flag := map[tlsutil.Which]string{tlsutil.WhichCA: "--ca-file", tlsutil.WhichCert: "--client-cert", tlsutil.WhichKey: "--client-key"}
		if fe, ok := err.(*tlsutil.FileError); ok {
			return fmt.Errorf("%s: %q %v", flag[fe.Which], fe.Path, fe.Err)
		}
		return err
	}
	e.tlsConfig = tc
	return nil
}

func cmdTLS(e *env, args []string) int {
	const use = "tls: expected 'tls ca create [--dir D] [--days N]' or 'tls cert create --server|--client [--dir D] [--ca FILE] [--key FILE] [--days N] [--additional-ipaddress IP]... [--additional-dnsname NAME]...'"
	if len(args) < 2 || args[1] != "create" || (args[0] != "ca" && args[0] != "cert") {
		return e.usageErr("%s", use)
	}
	if args[0] == "ca" {
		return cmdTLSCACreate(e, args[2:])
	}
	return cmdTLSCertCreate(e, args[2:])
}

func cmdTLSCACreate(e *env, args []string) int {
	fs := newFlags("tls ca create", e)
	dir := fs.String("dir", ".", "directory to write allot-agent-ca.pem and allot-agent-ca-key.pem into")
	days := fs.Int("days", 1825, "days the CA is valid")
	cn := fs.String("common-name", "", "the CA's common name (default: Allot Agent CA <serial>)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		return e.usageErr("tls ca create: unexpected argument %q", fs.Arg(0))
	}
	if *days < 1 {
		return e.usageErr("tls ca create: --days %d: must be at least 1", *days)
	}
	cert, key, err := tlsutil.CreateCA(*dir, tlsutil.CAOptions{Days: *days, CommonName: *cn})
	if err != nil {
		return e.fail(err)
	}
	return e.saved(cert, key)
}

func cmdTLSCertCreate(e *env, args []string) int {
	fs := newFlags("tls cert create", e)
	server := fs.Bool("server", false, "a server certificate (names server.allot)")
	client := fs.Bool("client", false, "a client certificate (names client.allot), for client agents and the CLI")
	dir := fs.String("dir", ".", "directory to write the certificate and key into")
	ca := fs.String("ca", "", "the CA certificate (default: DIR/allot-agent-ca.pem)")
	caKey := fs.String("key", "", "the CA key (default: DIR/allot-agent-ca-key.pem)")
	days := fs.Int("days", 365, "days the certificate is valid")
	var ips, dns multi
	fs.Var(&ips, "additional-ipaddress", "an extra IP address to name; repeatable")
	fs.Var(&dns, "additional-dnsname", "an extra DNS name to name; repeatable")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		return e.usageErr("tls cert create: unexpected argument %q", fs.Arg(0))
	}
	if *server == *client {
		return e.usageErr("tls cert create: give exactly one of --server or --client")
	}
	if *days < 1 {
		return e.usageErr("tls cert create: --days %d: must be at least 1", *days)
	}
	o := tlsutil.CertOptions{Role: tlsutil.RoleClient, Days: *days, DNSNames: dns}
	if *server {
		o.Role = tlsutil.RoleServer
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return e.usageErr("tls cert create: --additional-ipaddress %q is not an IP address", s)
		}
		o.IPs = append(o.IPs, ip)
	}
	for _, d := range dns {
		if d == "" || strings.ContainsAny(d, " /:") {
			return e.usageErr("tls cert create: --additional-dnsname %q is not a DNS name", d)
		}
	}
	if *ca == "" {
		*ca = filepath.Join(*dir, tlsutil.CAFile)
	}
	if *caKey == "" {
		*caKey = filepath.Join(*dir, tlsutil.CAKeyFile)
	}
	cert, key, err := tlsutil.CreateCert(*dir, *ca, *caKey, o)
	if err != nil {
		return e.fail(err)
	}
	return e.saved(cert, key)
}

// saved reports the files written, Consul-style (or as JSON).
func (e *env) saved(cert, key string) int {
	if e.g.json {
		return e.printJSON(map[string]string{"cert_file": cert, "key_file": key})
	}
	fmt.Fprintf(e.stdout, "==> Saved %s\n==> Saved %s\n", cert, key)
	return exitOK
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/allot-dev/allot/tlsutil"
	"github.com/spf13/cobra"
)

// loadTLS builds the CLI's TLS configuration for commands that talk to the
// API: HTTPS when a CA file or client certificate is given or the address
// is an https:// URL. A file that cannot be loaded is an error naming the
// flag (a usage error: exit 2). Commands that make certificates never load them.
func (e *env) loadTLS() error {
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

func tlsCmd(e *env) *cobra.Command {
	var caDir, caCN string
	var caDays int
	ca := &cobra.Command{
		Use:   "create [--dir D] [--days N]",
		Short: "Create a cluster CA: allot-agent-ca.pem and allot-agent-ca-key.pem",
		Long: `Create a cluster CA in --dir (created if missing): allot-agent-ca.pem and
allot-agent-ca-key.pem. Existing files are never overwritten.`,
		Example: "  allot tls ca create --dir certs",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if caDays < 1 {
				return usagef("--days %d: must be at least 1", caDays)
			}
			if err := os.MkdirAll(caDir, 0o700); err != nil {
				return fmt.Errorf("creating --dir: %w", err)
			}
			cert, key, err := tlsutil.CreateCA(caDir, tlsutil.CAOptions{Days: caDays, CommonName: caCN})
			if err != nil {
				return err
			}
			return e.saved(cert, key)
		},
	}
	ca.Flags().StringVar(&caDir, "dir", ".", "directory to write allot-agent-ca.pem and allot-agent-ca-key.pem into (created if missing)")
	ca.Flags().IntVar(&caDays, "days", 1825, "days the CA is valid")
	ca.Flags().StringVar(&caCN, "common-name", "", "the CA's common name (default: Allot Agent CA <serial>)")

	var server, client bool
	var dir, caFile, caKey string
	var days int
	var ips, dns []string
	cert := &cobra.Command{
		Use:   "create --server|--client [--dir D] [--ca FILE] [--key FILE]",
		Short: "Create a certificate signed by the CA: dc-server-allot-N.pem or dc-client-allot-N.pem",
		Long: `Create a server or client certificate signed by the CA, with its key, as dc-ROLE-allot-N.pem
and dc-ROLE-allot-N-key.pem (N: the first free index). Server certificates name server.allot,
client certificates client.allot; both name localhost and 127.0.0.1.`,
		Example: `  allot tls cert create --server --dir certs
  allot tls cert create --server --dir certs --additional-ipaddress 10.0.0.5 --additional-dnsname n1.example
  allot tls cert create --client --dir certs`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == client {
				return usagef("give exactly one of --server or --client")
			}
			if days < 1 {
				return usagef("--days %d: must be at least 1", days)
			}
			o := tlsutil.CertOptions{Role: tlsutil.RoleClient, Days: days, DNSNames: dns}
			if server {
				o.Role = tlsutil.RoleServer
			}
			for _, s := range ips {
				ip := net.ParseIP(s)
				if ip == nil {
					return usagef("--additional-ipaddress %q is not an IP address", s)
				}
				o.IPs = append(o.IPs, ip)
			}
			for _, d := range dns {
				if d == "" || strings.ContainsAny(d, " /:") {
					return usagef("--additional-dnsname %q is not a DNS name", d)
				}
			}
			if caFile == "" {
				caFile = filepath.Join(dir, tlsutil.CAFile)
			}
			if caKey == "" {
				caKey = filepath.Join(dir, tlsutil.CAKeyFile)
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("creating --dir: %w", err)
			}
			c, k, err := tlsutil.CreateCert(dir, caFile, caKey, o)
			if err != nil {
				return err
			}
			return e.saved(c, k)
		},
	}
	f := cert.Flags()
	f.BoolVar(&server, "server", false, "a server certificate (names server.allot)")
	f.BoolVar(&client, "client", false, "a client certificate (names client.allot), for client agents and the CLI")
	f.StringVar(&dir, "dir", ".", "directory to write the certificate and key into (created if missing)")
	f.StringVar(&caFile, "ca", "", "the CA certificate (default: DIR/allot-agent-ca.pem)")
	f.StringVar(&caKey, "key", "", "the CA key (default: DIR/allot-agent-ca-key.pem)")
	f.IntVar(&days, "days", 365, "days the certificate is valid")
	f.StringArrayVar(&ips, "additional-ipaddress", nil, "an extra IP address to name; repeatable")
	f.StringArrayVar(&dns, "additional-dnsname", nil, "an extra DNS name to name; repeatable")

	return group("tls", "Create a cluster CA and agent certificates for mutual TLS",
		"  allot tls ca create --dir certs\n  allot tls cert create --server --dir certs",
		group("ca", "Create a cluster CA", "  allot tls ca create --dir certs", ca),
		group("cert", "Create certificates signed by the cluster CA", "  allot tls cert create --client --dir certs", cert))
}

// saved reports the files written, Consul-style (or as JSON).
func (e *env) saved(cert, key string) error {
	if e.g.json {
		return e.printJSON(map[string]string{"cert_file": cert, "key_file": key})
	}
	fmt.Fprintf(e.stdout, "==> Saved %s\n==> Saved %s\n", cert, key)
	return nil
}

package config

import (
	"errors"
	"fmt"

	"github.com/allot-dev/allot/tlsutil"
)

// tlsKeys are the config keys of the three TLS files, with their flags.
var tlsKeys = []struct{ key, flag string }{
	{"tls.ca_file", "--tls-ca"}, {"tls.cert_file", "--tls-cert"}, {"tls.key_file", "--tls-key"},
}

// TLSEnabled reports whether mutual TLS is configured (Validate has checked
// that either all three files are set or none).
func (c *Config) TLSEnabled() bool { return c.TLSCA != "" && c.TLSCert != "" && c.TLSKey != "" }

// TLSFiles are the configured CA, certificate and key files.
func (c *Config) TLSFiles() tlsutil.Files {
	return tlsutil.Files{CA: c.TLSCA, Cert: c.TLSCert, Key: c.TLSKey}
}

// validateTLS accepts all three TLS files or none, and loads them, so that a
// missing, unreadable, mismatched or foreign file stops the agent before it
// binds anything, with one line naming the flag or key that set it.
func (c *Config) validateTLS() error {
	vals := []string{c.TLSCA, c.TLSCert, c.TLSKey}
	set, unset := -1, -1
	for i, v := range vals {
		if v != "" && set < 0 {
			set = i
		}
		if v == "" && unset < 0 {
			unset = i
		}
	}
	if set < 0 {
		return nil
	}
	if unset >= 0 {
		return errf("%s: %q is set but %s (%s) is not: mutual TLS needs all three of --tls-ca, --tls-cert and --tls-key (tls { ca_file cert_file key_file })",
			c.Source(tlsKeys[set].key), vals[set], tlsKeys[unset].key, tlsKeys[unset].flag)
	}
	if _, err := tlsutil.Load(c.TLSFiles()); err != nil {
		var fe *tlsutil.FileError
		if !errors.As(err, &fe) {
			return errf("%s: %v", c.Source("tls.ca_file"), err)
		}
		i := map[tlsutil.Which]int{tlsutil.WhichCA: 0, tlsutil.WhichCert: 1, tlsutil.WhichKey: 2}[fe.Which]
		return errf("%s: %q %s", c.Source(tlsKeys[i].key), fe.Path, oneLineErr(fe.Err))
	}
	return nil
}

func oneLineErr(err error) string {
	s := fmt.Sprint(err)
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

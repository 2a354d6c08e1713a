package config

import (
	"os"
	"strings"
)

// readEncryptFile reads the gossip key from gossip.encrypt_file (flag
// --encrypt-file, ALLOT_ENCRYPT_FILE): a key given as --encrypt is shown to
// every user of the host by ps. Setting both is an error.
func (c *Config) readEncryptFile() error {
	if c.EncryptFile == "" {
		return nil
	}
	if c.Encrypt != "" {
		return errf("%s: set together with %s; use one", c.Source("gossip.encrypt_file"), c.Source("gossip.encrypt"))
	}
	b, err := os.ReadFile(c.EncryptFile)
	if err != nil {
		return errf("%s: %q cannot be read: %v", c.Source("gossip.encrypt_file"), c.EncryptFile, err)
	}
	c.Encrypt = strings.TrimSpace(string(b))
	c.set("gossip.encrypt", c.Source("gossip.encrypt_file"))
	if c.Encrypt == "" {
		return errf("%s: %q is empty", c.Source("gossip.encrypt_file"), c.EncryptFile)
	}
	return nil
}

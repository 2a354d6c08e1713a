package config

import (
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// Load builds the configuration from args (the agent's flags, without the
// word "agent") and the environment, and validates it: defaults < config
// files (in order) < environment < flags, every one of them defined by the
// settings table. Usage problems and invalid values come back as *Error;
// after -h (printed to stderr) the error wraps flag.ErrHelp. Deprecated
// environment names are warned about on stderr.
func Load(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := Defaults()
	given, err := parseFlags(args, stderr)
	if err != nil {
		return nil, err
	}
	for _, f := range given {
		if f.s.kind != kFiles {
			continue
		}
		for _, path := range f.vals {
			if err := c.mergeFile(path); err != nil {
				return nil, err
			}
		}
	}
	if err := c.mergeEnv(getenv, stderr); err != nil {
		return nil, err
	}
	for _, f := range given {
		src := "flag --" + f.s.Flag
		switch f.s.kind {
		case kFiles:
		case kList: // repeatable: every value given
			*f.s.field(c).(*[]string) = f.vals
			c.set(f.s.ID(), src)
		default:
			if err := f.s.setText(c, f.vals[len(f.vals)-1], src); err != nil {
				return nil, err
			}
		}
	}
	if c.Dev {
		c.applyDevDefaults()
	}
	if err := c.readEncryptFile(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// applyDevDefaults makes --dev a zero-set-up single node: a fast epoch, no
// enforcement, loopback only, demo services unless the config names some.
func (c *Config) applyDevDefaults() {
	if _, ok := c.src["server.epoch"]; !ok {
		c.Epoch = 3 * time.Second
	}
	if _, ok := c.src["client.enforce"]; !ok {
		c.Enforce = "none"
	}
	if _, ok := c.src["bind_addr"]; !ok {
		c.Bind = "127.0.0.1"
	}
	if _, ok := c.src["node_name"]; !ok {
		c.NodeName = "dev"
	}
	if _, ok := c.src["ports.raft"]; !ok {
		c.RaftPort = 0
	}
	if _, ok := c.src["ports.gossip"]; !ok {
		c.GossipPort = 0
	}
	// The demo's node offers io and net too, so the whole plan shows.
	if c.Capacity[bidding.IO] == 0 {
		c.Capacity[bidding.IO] = 200 << 20
	}
	if c.Capacity[bidding.Net] == 0 {
		c.Capacity[bidding.Net] = 1e9
	}
}

func checkKey(k string) error {
	b, err := base64.StdEncoding.DecodeString(k)
	if err != nil {
		return fmt.Errorf("%q is not base64", k)
	}
	if len(b) != 32 {
		return fmt.Errorf("key is %d bytes, must be 32 (allot keygen makes one)", len(b))
	}
	return nil
}

// EncryptKey decodes the gossip key (nil when none is set).
func (c *Config) EncryptKey() []byte {
	if c.Encrypt == "" {
		return nil
	}
	b, _ := base64.StdEncoding.DecodeString(c.Encrypt)
	return b
}

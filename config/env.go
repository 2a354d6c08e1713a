package config

import (
	"strconv"
	"strings"
)

func (c *Config) mergeEnv(getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	strs := []struct {
		env, key string
		dst      *string
	}{
		{"ALLOT_NODE", "node_name", &c.NodeName},
		{"ALLOT_DATA_DIR", "data_dir", &c.DataDir},
		{"ALLOT_BIND", "bind", &c.Bind},
		{"ALLOT_ADVERTISE", "advertise", &c.Advertise},
		{"ALLOT_AGENT_HTTP_ADDR", "http_addr", &c.HTTPAddr},
		{"ALLOT_ENCRYPT", "gossip.encrypt", &c.Encrypt},
		{"ALLOT_ENCRYPT_FILE", "gossip.encrypt_file", &c.EncryptFile},
		{"ALLOT_TLS_CA", "tls.ca_file", &c.TLSCA},
		{"ALLOT_TLS_CERT", "tls.cert_file", &c.TLSCert},
		{"ALLOT_TLS_KEY", "tls.key_file", &c.TLSKey},
		{"ALLOT_ENFORCE", "client.enforce", &c.Enforce},
		{"ALLOT_DOCKER_SOCKET", "client.docker.socket", &c.DockerSocket},
		{"ALLOT_LOG_LEVEL", "log_level", &c.LogLevel},
		{"ALLOT_ACL_AGENT_TOKEN", "acl.tokens.agent", &c.ACLAgentToken},
	}
	for _, s := range strs {
		if v := getenv(s.env); v != "" {
			*s.dst = v
			c.set(s.key, s.env)
		}
	}
	bools := []struct {
		env, key string
		dst      *bool
	}{{"ALLOT_SERVER", "server", &c.Server}, {"ALLOT_CLIENT", "client", &c.Client}, {"ALLOT_DEV", "dev", &c.Dev}, {"ALLOT_LOG_JSON", "log_json", &c.LogJSON}, {"ALLOT_ACL_ENABLED", "acl.enabled", &c.ACLEnabled}, {"ALLOT_DOCKER", "client.docker.enabled", &c.Docker}}
	for _, b := range bools {
		if v := getenv(b.env); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return errf("%s: %q is not a boolean (true or false)", b.env, v)
			}
			*b.dst = x
			c.set(b.key, b.env)
		}
	}
	ints := []struct {
		env, key string
		dst      *int
	}{{"ALLOT_BOOTSTRAP_EXPECT", "server.bootstrap_expect", &c.BootstrapExpect}, {"ALLOT_GOSSIP_PORT", "ports.gossip", &c.GossipPort}, {"ALLOT_RAFT_PORT", "ports.raft", &c.RaftPort}}
	for _, i := range ints {
		if v := getenv(i.env); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil {
				return errf("%s: %q is not an integer", i.env, v)
			}
			*i.dst = x
			c.set(i.key, i.env)
		}
	}
	if v := getenv("ALLOT_JOIN"); v != "" {
		c.Join = strings.Split(v, ",")
		c.set("join", "ALLOT_JOIN")
	}
	if v := getenv("ALLOT_EPOCH"); v != "" {
		if err := c.setDuration(&c.Epoch, "server.epoch", "ALLOT_EPOCH", v); err != nil {
			return err
		}
	}
	return nil
}

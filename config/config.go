// Package config builds an agent's configuration from defaults, config files
// (HCL or its JSON form), ALLOT_* environment variables and flags, in that
// order of precedence, and validates it before anything starts.
package config

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
)

// Config is an agent's complete, validated configuration.
type Config struct {
	NodeName        string
	DataDir         string
	Dev             bool
	Server          bool
	Client          bool
	BootstrapExpect int
	Bind            string
	Advertise       string
	HTTPAddr        string
	GossipPort      int
	RaftPort        int
	Join            []string
	Epoch           time.Duration
	BidTTL          uint64
	PlanHistory     int
	// PlanHistoryBytes (server.plan_history_bytes) bounds the kept plans'
	// size; the oldest are dropped first (see fsm/DESIGN.md).
	PlanHistoryBytes int64
	Encrypt          string
	EncryptFile      string // gossip.encrypt_file: read into Encrypt by Load
	TLSCA            string
	TLSCert          string
	TLSKey           string
	ACLEnabled       bool
	ACLAgentToken    string // acl.tokens.agent: the token this agent's own API calls carry
	Enforce          string
	CgroupParent     string
	IODevices        []string    // client.io_devices: block devices ("MAJ:MIN") io limits apply to
	Docker           bool        // client.docker.enabled: manage labelled Docker containers
	DockerSocket     string      // client.docker.socket: the Engine API's unix socket
	Capacity         bidding.Vec // client capacity; cpu/memory 0 = read from the machine
	ClientPolicy     string      // client.policy: what the runtimes enforce ("allot": the plan; "static": hand sizing, shadow bids)
	LogLevel         string
	LogJSON          bool
	Services         []bidding.Service
	Solver           bidding.Options // server.solver: the negotiation options a leader replicates

	// RaftHeartbeat and friends are tuning knobs (config file only).
	RaftHeartbeat time.Duration
	RaftElection  time.Duration
	// Membership knobs (config file only): see cluster/DESIGN.md.
	ServerStabilization time.Duration // server.server_stabilization_time
	DeadServerGrace     time.Duration // server.dead_server_grace
	MinQuorum           int           // server.min_quorum

	src map[string]string // key -> where its value came from, for error messages
}

// The bounds of server.plan_history_bytes (the default is fsm's).
const (
	DefaultPlanHistoryBytes = 64 << 20
	MinPlanHistoryBytes     = 1 << 20
	MaxPlanHistoryBytes     = 1 << 40
)

// MaxServers bounds bootstrap_expect and min_quorum; MaxRaftTimeout the
// Raft heartbeat and election timeouts.
const (
	MaxServers     = 7
	MaxRaftTimeout = 30 * time.Second
)

// Defaults returns the contract's defaults.
func Defaults() *Config {
	host, _ := os.Hostname()
	return &Config{
		NodeName:            host,
		Bind:                "0.0.0.0",
		HTTPAddr:            "127.0.0.1:7480",
		GossipPort:          7481,
		RaftPort:            7482,
		Epoch:               5 * time.Minute,
		BidTTL:              3,
		PlanHistory:         288,
		PlanHistoryBytes:    DefaultPlanHistoryBytes,
		Enforce:             "auto",
		CgroupParent:        "/allot",
		DockerSocket:        "/var/run/docker.sock",
		LogLevel:            "info",
		RaftHeartbeat:       500 * time.Millisecond,
		RaftElection:        500 * time.Millisecond,
		ServerStabilization: 10 * time.Second,
		DeadServerGrace:     5 * time.Minute,
		MinQuorum:           3,
		Solver:              bidding.DefaultOptions(),
		src:                 map[string]string{},
	}
}

// Source names where the value of key came from ("flag --epoch", "ALLOT_EPOCH", "server.epoch in FILE").
func (c *Config) Source(key string) string {
	if s, ok := c.src[key]; ok {
		return s
	}
	return key
}

func (c *Config) set(key, source string) {
	if c.src == nil {
		c.src = map[string]string{}
	}
	c.src[key] = source
}

// Error is a configuration error; its message is one line naming the key or
// flag, the value, and what is allowed.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errf(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// Validate checks every value; the first problem is returned.
func (c *Config) Validate() error {
	if c.Dev {
		c.Server, c.Client = true, true
		if c.BootstrapExpect == 0 {
			c.BootstrapExpect = 1
		}
	}
	if !c.Server && !c.Client {
		return errf("%s: the agent must be a --server, a --client, or both (or --dev)", c.Source("server"))
	}
	if c.NodeName == "" {
		return errf("%s: node name must not be empty", c.Source("node_name"))
	}
	if err := bidding.ValidateName("node", c.NodeName); err != nil {
		return errf("%s: %q is not a valid node name: letters, digits, '.', '_', '-', at most %d characters", c.Source("node_name"), c.NodeName, bidding.MaxNameLen)
	}
	if !c.Dev && c.DataDir == "" {
		return errf("%s: a data directory is required unless --dev", c.Source("data_dir"))
	}
	if c.Server && !c.Dev && c.BootstrapExpect < 0 {
		return errf("%s: %d is not allowed: a number of servers ≥ 1 (or 0 to join an existing cluster)", c.Source("server.bootstrap_expect"), c.BootstrapExpect)
	}
	if !c.Server && c.BootstrapExpect > 0 {
		return errf("%s: %d is only allowed with --server", c.Source("server.bootstrap_expect"), c.BootstrapExpect)
	}
	if c.BootstrapExpect > MaxServers {
		return errf("%s: %d servers is not allowed: use 1, 3 or 5 (at most %d)", c.Source("server.bootstrap_expect"), c.BootstrapExpect, MaxServers)
	}
	if ip := net.ParseIP(c.Bind); ip == nil {
		return errf("%s: %q is not an IP address", c.Source("bind"), c.Bind)
	}
	if c.Advertise != "" {
		ip := net.ParseIP(c.Advertise)
		if ip == nil || ip.IsUnspecified() {
			return errf("%s: %q is not a routable IP address", c.Source("advertise"), c.Advertise)
		}
	}
	if _, _, err := splitHostPort(c.HTTPAddr); err != nil {
		return errf("%s: %q is not IP:PORT (%v)", c.Source("http_addr"), c.HTTPAddr, err)
	}
	for _, p := range []struct {
		k string
		v int
	}{{"ports.gossip", c.GossipPort}, {"ports.raft", c.RaftPort}} {
		if p.v < 0 || p.v > 65535 {
			return errf("%s: %d is not a port (0-65535)", c.Source(p.k), p.v)
		}
	}
	if c.Server && c.GossipPort != 0 && c.GossipPort == c.RaftPort {
		return errf("%s: %d is also the gossip port; they must differ", c.Source("ports.raft"), c.RaftPort)
	}
	if c.Dev && c.DataDir != "" {
		return errf("%s: --dev keeps everything in memory and writes no data directory; leave --dev out to use %q", c.Source("data_dir"), c.DataDir)
	}
	for _, j := range c.Join {
		if err := checkJoinAddr(j); err != nil {
			return errf("%s: %q is not a gossip address (HOST or HOST:PORT): %v", c.Source("join"), j, err)
		}
	}
	if err := c.checkHTTPPort(); err != nil {
		return err
	}
	if c.Epoch < 100*time.Millisecond || c.Epoch > 24*time.Hour {
		return errf("%s: %s is outside the allowed range 100ms to 24h", c.Source("server.epoch"), c.Epoch)
	}
	if c.BidTTL < 1 || c.BidTTL > 1000 {
		return errf("%s: %d is outside 1 to 1000 epochs", c.Source("server.bid_ttl"), c.BidTTL)
	}
	if c.PlanHistory < 1 || c.PlanHistory > 100000 {
		return errf("%s: %d is outside 1 to 100000 plans", c.Source("server.plan_history"), c.PlanHistory)
	}
	if c.PlanHistoryBytes < MinPlanHistoryBytes || c.PlanHistoryBytes > MaxPlanHistoryBytes {
		return errf("%s: %s is outside 1MiB to 1TiB", c.Source("server.plan_history_bytes"), FormatQuantity(bidding.Memory, c.PlanHistoryBytes))
	}
	switch c.Enforce {
	case "auto", "cgroup-v1", "cgroup-v2", "none":
	default:
		return errf("%s: %q is not allowed: auto, cgroup-v1, cgroup-v2 or none", c.Source("client.enforce"), c.Enforce)
	}
	if c.Encrypt != "" {
		if err := checkKey(c.Encrypt); err != nil {
			return errf("%s: %v", c.Source("gossip.encrypt"), err)
		}
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if c.ClientPolicy != "" && !slices.Contains(baseline.Policies(), c.ClientPolicy) {
		return errf("%s: %q is not allowed: %s", c.Source("client.policy"), c.ClientPolicy, strings.Join(baseline.Policies(), ", "))
	}
	if err := c.validateIODevices(); err != nil {
		return err
	}
	if c.Docker && !c.Client {
		return errf("%s: the Docker runtime runs on a client: add --client (or client { enabled = true })", c.Source("client.docker.enabled"))
	}
	if c.Docker && !strings.HasPrefix(strings.TrimPrefix(c.DockerSocket, "unix://"), "/") {
		return errf("%s: %q is not allowed: an absolute path to the Docker Engine's unix socket (e.g. /var/run/docker.sock)", c.Source("client.docker.socket"), c.DockerSocket)
	}
	if strings.ContainsAny(c.ACLAgentToken, " \t\r\n") {
		return errf("%s: the token must not contain whitespace", c.Source("acl.tokens.agent"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "trace", "debug", "info", "warn", "error":
	default:
		return errf("%s: %q is not allowed: trace, debug, info, warn or error", c.Source("log_level"), c.LogLevel)
	}
	if c.ServerStabilization < 0 || c.DeadServerGrace < time.Second {
		return errf("%s: server_stabilization_time must be ≥ 0 and dead_server_grace ≥ 1s (got %s, %s)", c.Source("server.dead_server_grace"), c.ServerStabilization, c.DeadServerGrace)
	}
	if c.MinQuorum < 1 || c.MinQuorum > MaxServers {
		return errf("%s: %d is not allowed: a number of voters from 1 to %d", c.Source("server.min_quorum"), c.MinQuorum, MaxServers)
	}
	for _, d := range []struct {
		k string
		v time.Duration
	}{{"server.raft_heartbeat", c.RaftHeartbeat}, {"server.raft_election", c.RaftElection}} {
		if d.v < 10*time.Millisecond || d.v > MaxRaftTimeout {
			return errf("%s: %s is outside 10ms to %s", c.Source(d.k), d.v, MaxRaftTimeout)
		}
	}
	if c.RaftElection < c.RaftHeartbeat {
		return errf("%s: %s is below server.raft_heartbeat (%s); the election timeout must be at least the heartbeat timeout", c.Source("server.raft_election"), c.RaftElection, c.RaftHeartbeat)
	}
	seen := map[string]bool{}
	for i := range c.Services {
		s := &c.Services[i]
		if err := s.ValidateNew(); err != nil {
			return errf("service %q: %v", s.Name, err)
		}
		if seen[s.Name] {
			return errf("service %q: defined twice", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

func splitHostPort(a string) (string, int, error) {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	if net.ParseIP(h) == nil && h != "localhost" {
		return "", 0, fmt.Errorf("%q is not an IP address", h)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q is not a port", p)
	}
	return h, n, nil
}

// AdvertiseIP is the address other nodes use to reach this one.
func (c *Config) AdvertiseIP() string {
	if c.Advertise != "" {
		return c.Advertise
	}
	if ip := net.ParseIP(c.Bind); ip != nil && !ip.IsUnspecified() {
		return c.Bind
	}
	return "127.0.0.1"
}

// checkJoinAddr accepts HOST or HOST:PORT, HOST an IP or a DNS name.
func checkJoinAddr(a string) error {
	if net.ParseIP(a) != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Contains(a, ":") {
			return err
		}
		host = a
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q is not a port (1-65535)", port)
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if host == "" || len(host) > 253 {
		return fmt.Errorf("the host is empty or longer than 253 characters")
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%q is not an IP address or a DNS name", host)
		}
	}
	return nil
}

// checkHTTPPort refuses an HTTP address that would take the gossip or Raft
// port (found only when the second bind failed, after the first succeeded).
func (c *Config) checkHTTPPort() error {
	h, port, err := splitHostPort(c.HTTPAddr)
	if err != nil || port == 0 {
		return nil // reported by the http_addr check
	}
	hip, bip := net.ParseIP(h), net.ParseIP(c.Bind)
	overlap := h == "localhost" || hip == nil || bip == nil || hip.IsUnspecified() || bip.IsUnspecified() || hip.Equal(bip)
	if !overlap {
		return nil
	}
	if port == c.GossipPort {
		return errf("%s: port %d is also the gossip port (%s); they must differ", c.Source("http_addr"), port, c.Source("ports.gossip"))
	}
	if c.Server && port == c.RaftPort {
		return errf("%s: port %d is also the Raft port (%s); they must differ", c.Source("http_addr"), port, c.Source("ports.raft"))
	}
	return nil
}

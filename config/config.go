// Package config builds an agent's configuration from defaults, config files
// (HCL or its JSON form), ALLOT_* environment variables and flags, in that
// order of precedence, and validates it before anything starts.
package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

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
	NoLend           bool        // client.lend_room = false: limits are the plan's only (client/lend.go)
	MemoryBorrow     bool        // client.memory_borrow: memory allocations are reservations under the node's memory (enforce.Borrow)
	ClientPolicy     string      // client.policy: what the runtimes enforce ("allot": the plan; "static": hand sizing, shadow bids)
	LogLevel         string
	LogJSON          bool
	Services         []bidding.Service
	Solver           bidding.Options // server.solver: the negotiation options a leader replicates

	// RaftHeartbeat and friends are tuning knobs (config file only).
	RaftHeartbeat time.Duration
	RaftElection  time.Duration
	// Raft log compaction (cluster.Config's SnapshotThreshold, …).
	RaftSnapshotThreshold uint64
	RaftSnapshotInterval  time.Duration
	RaftTrailingLogs      uint64
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

// Defaults returns the defaults: each setting's Default from the table
// (the solver's options start from bidding.DefaultOptions, which the
// table's solver defaults restate; a test keeps them equal), and the
// hostname as the node name.
func Defaults() *Config {
	c := &Config{Solver: bidding.DefaultOptions()}
	for i := range Settings {
		s := &Settings[i]
		if s.Default == "" || s.field == nil {
			continue
		}
		if err := s.setText(c, s.Default, "default"); err != nil {
			panic("config: the settings table's default of " + s.ID() + " does not parse: " + err.Error())
		}
	}
	c.src = map[string]string{} // a default has no source but its key
	c.NodeName, _ = os.Hostname()
	return c
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
type Error struct {
	Msg string
	err error // flag.ErrHelp after -h
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is(err, flag.ErrHelp) tell a -h from a usage error.
func (e *Error) Unwrap() error { return e.err }

func errf(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// Validate checks every value: first each setting alone (the table's
// checks, naming where the value came from), then the checks across
// settings. The first problem is returned.
func (c *Config) Validate() error {
	if c.Dev {
		c.Server, c.Client = true, true
		if c.BootstrapExpect == 0 {
			c.BootstrapExpect = 1
		}
	}
	for i := range Settings {
		s := &Settings[i]
		if s.check != nil {
			if err := s.check(c, c.Source(s.ID())); err != nil {
				return err
			}
		}
	}
	return c.validateAcross()
}

// validateAcross checks what depends on more than one setting.
func (c *Config) validateAcross() error {
	if !c.Server && !c.Client {
		return errf("%s: the agent must be a --server, a --client, or both (or --dev)", c.Source("server.enabled"))
	}
	if !c.Dev && c.DataDir == "" {
		return errf("%s: a data directory is required unless --dev", c.Source("data_dir"))
	}
	if !c.Server && c.BootstrapExpect > 0 {
		return errf("%s: %d is only allowed with --server", c.Source("server.bootstrap_expect"), c.BootstrapExpect)
	}
	if c.Server && c.GossipPort != 0 && c.GossipPort == c.RaftPort {
		return errf("%s: %d is also the gossip port; they must differ", c.Source("ports.raft"), c.RaftPort)
	}
	if c.Dev && c.DataDir != "" {
		return errf("%s: --dev keeps everything in memory and writes no data directory; leave --dev out to use %q", c.Source("data_dir"), c.DataDir)
	}
	if err := c.checkHTTPPort(); err != nil {
		return err
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if c.Docker && !c.Client {
		return errf("%s: the Docker runtime runs on a client: add --client (or client { enabled = true })", c.Source("client.docker.enabled"))
	}
	if c.RaftElection < c.RaftHeartbeat {
		return errf("%s: %s is below server.raft_heartbeat (%s); the election timeout must be at least the heartbeat timeout", c.Source("server.raft_election"), c.RaftElection, c.RaftHeartbeat)
	}
	if err := c.Solver.Validate(); err != nil {
		return errf("%s: %v", c.Source("server.solver"), err)
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

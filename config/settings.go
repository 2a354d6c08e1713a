package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot/baseline"
	"github.com/allot-dev/allot/bidding"
)

// Setting is one row of the settings table: every key of the agent's
// configuration with its flag, environment variable, type, default,
// validation and meaning. Everything else comes from it: the flags Load
// defines (name, default, usage naming the env), the environment it reads,
// the HCL/JSON schema files are decoded with (unknown keys refused with a
// "did you mean"), Defaults(), the per-setting checks, and docs/CONFIG.md
// (issue 13: five hand-kept lists let unknown blocks and config gaps through).
type Setting struct {
	Key     string // HCL/JSON path; "" for a flag with no file key
	Flag    string // without the dashes; "" for none
	Env     string // EnvName(Key) unless the row says otherwise; "" for none
	OldEnv  string // a deprecated alias of Env, still read, with a warning
	Type    string // as the docs show it
	Default string // parsed into Defaults() (text as a flag takes it); shown in the docs
	Doc     string

	kind  kind
	field func(c *Config) any // a pointer to the Config field the value lands in
	// check validates the value alone (cross-field checks are in
	// Config.Validate); src names where it came from.
	check func(c *Config, src string) error
	// docDefault, if set, is shown instead of Default (a default that is
	// not a literal: the hostname, the machine's capacity).
	docDefault string
}

// ID names the setting in Config.Source: its key, or its flag when it has
// no key.
func (s *Setting) ID() string {
	if s.Key != "" {
		return s.Key
	}
	return s.Flag
}

// EnvName is the environment variable of a config key: ALLOT_ and the key
// in capitals with '.' as '_' (server.epoch → ALLOT_SERVER_EPOCH), so every
// name can be guessed from the key.
func EnvName(key string) string {
	return "ALLOT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// kind is how a setting's value is parsed and stored.
type kind int

const (
	kString     kind = iota // *string
	kBool                   // *bool
	kNotBool                // *bool holding the negation (solver.explain → SkipExplain)
	kInt                    // *int
	kUint                   // *uint64
	kFloat                  // *float64
	kDuration               // *time.Duration
	kSize                   // *int64, a byte size such as "64MiB"
	kList                   // *[]string: repeatable flag, comma-separated env, list in files
	kQuantities             // *bidding.Vec: a block { cpu memory io net }
	kServices               // *[]bidding.Service: labelled service "NAME" { … } blocks
	kSection                // a block of other keys (documentation only)
	kFiles                  // --config: files read in order
)

// Settings is the table, in the order docs/CONFIG.md lists them.
var Settings = []Setting{
	{Flag: "config", Type: "path, repeatable", Doc: "config file (HCL, or its JSON form: a .json name or a leading '{'); later files override earlier ones", kind: kFiles},
	{Flag: "dev", Env: "ALLOT_DEV", Type: "bool", Default: "false", Doc: "single node, server+client, in-memory Raft, demo services; not allowed with --data-dir",
		kind: kBool, field: func(c *Config) any { return &c.Dev }},
	{Key: "node_name", Flag: "node", OldEnv: "ALLOT_NODE", Type: "name", docDefault: "hostname", Doc: "node name: letters, digits, '.', '_', '-'; unique among live nodes",
		kind: kString, field: func(c *Config) any { return &c.NodeName }, check: checkNodeName},
	{Key: "data_dir", Flag: "data-dir", Type: "path", Doc: "data directory (Raft log, snapshots, node ID, audit log); required unless --dev",
		kind: kString, field: func(c *Config) any { return &c.DataDir }},
	{Key: "bind_addr", Flag: "bind", OldEnv: "ALLOT_BIND", Type: "IP", Default: "0.0.0.0", Doc: "address gossip and Raft listen on",
		kind: kString, field: func(c *Config) any { return &c.Bind }, check: func(c *Config, src string) error {
			if net.ParseIP(c.Bind) == nil {
				return errf("%s: %q is not an IP address", src, c.Bind)
			}
			return nil
		}},
	{Key: "advertise_addr", Flag: "advertise", OldEnv: "ALLOT_ADVERTISE", Type: "IP", Doc: "address other nodes reach this one at (required with an unspecified bind address)",
		kind: kString, field: func(c *Config) any { return &c.Advertise }, check: func(c *Config, src string) error {
			if ip := net.ParseIP(c.Advertise); c.Advertise != "" && (ip == nil || ip.IsUnspecified()) {
				return errf("%s: %q is not a routable IP address", src, c.Advertise)
			}
			return nil
		}},
	{Key: "http_addr", Flag: "http-addr", OldEnv: "ALLOT_AGENT_HTTP_ADDR", Type: "IP:PORT", Default: "127.0.0.1:7480",
		Doc:  "HTTP API address; its port may not be the gossip or Raft port (ALLOT_HTTP_ADDR is also where the CLI connects)",
		kind: kString, field: func(c *Config) any { return &c.HTTPAddr }, check: func(c *Config, src string) error {
			if _, _, err := splitHostPort(c.HTTPAddr); err != nil {
				hint := ""
				if src == EnvName("http_addr") {
					hint = "; ALLOT_HTTP_ADDR is also the CLI's address: give the agent --http-addr"
				}
				return errf("%s: %q is not IP:PORT (%v)%s", src, c.HTTPAddr, err, hint)
			}
			return nil
		}},
	{Key: "log_level", Flag: "log-level", Type: "trace|debug|info|warn|error", Default: "info", Doc: "log level",
		kind: kString, field: func(c *Config) any { return &c.LogLevel }, check: func(c *Config, src string) error {
			switch strings.ToLower(c.LogLevel) {
			case "trace", "debug", "info", "warn", "error":
				return nil
			}
			return errf("%s: %q is not allowed: trace, debug, info, warn or error", src, c.LogLevel)
		}},
	{Key: "log_json", Flag: "log-json", Type: "bool", Default: "false", Doc: "log JSON lines",
		kind: kBool, field: func(c *Config) any { return &c.LogJSON }},
	{Key: "join", Flag: "join", Type: "list of HOST[:PORT]", Doc: "gossip addresses to join, retried until one answers (flag repeatable; env comma-separated)",
		kind: kList, field: func(c *Config) any { return &c.Join }, check: func(c *Config, src string) error {
			for _, j := range c.Join {
				if err := checkJoinAddr(j); err != nil {
					return errf("%s: %q is not a gossip address (HOST or HOST:PORT): %v", src, j, err)
				}
			}
			return nil
		}},
	{Key: "ports.gossip", Flag: "gossip-port", OldEnv: "ALLOT_GOSSIP_PORT", Type: "port", Default: "7481", Doc: "gossip port",
		kind: kInt, field: func(c *Config) any { return &c.GossipPort }, check: checkPort(func(c *Config) int { return c.GossipPort })},
	{Key: "ports.raft", Flag: "raft-port", OldEnv: "ALLOT_RAFT_PORT", Type: "port", Default: "7482", Doc: "Raft port (servers)",
		kind: kInt, field: func(c *Config) any { return &c.RaftPort }, check: checkPort(func(c *Config) int { return c.RaftPort })},
	{Key: "server.enabled", Flag: "server", OldEnv: "ALLOT_SERVER", Type: "bool", Default: "false", Doc: "run as a Raft voter",
		kind: kBool, field: func(c *Config) any { return &c.Server }},
	{Key: "server.bootstrap_expect", Flag: "bootstrap-expect", OldEnv: "ALLOT_BOOTSTRAP_EXPECT", Type: fmt.Sprintf("int 0-%d", MaxServers), Default: "0",
		Doc:  "servers to wait for before bootstrapping (0: join an existing cluster)",
		kind: kInt, field: func(c *Config) any { return &c.BootstrapExpect }, check: func(c *Config, src string) error {
			if c.BootstrapExpect < 0 {
				return errf("%s: %d is not allowed: a number of servers ≥ 1 (or 0 to join an existing cluster)", src, c.BootstrapExpect)
			}
			if c.BootstrapExpect > MaxServers {
				return errf("%s: %d servers is not allowed: use 1, 3 or 5 (at most %d)", src, c.BootstrapExpect, MaxServers)
			}
			return nil
		}},
	{Key: "server.epoch", Flag: "epoch", OldEnv: "ALLOT_EPOCH", Type: "duration 100ms-24h", Default: "5m", Doc: "negotiation interval",
		kind: kDuration, field: func(c *Config) any { return &c.Epoch }, check: func(c *Config, src string) error {
			if c.Epoch < 100*time.Millisecond || c.Epoch > 24*time.Hour {
				return errf("%s: %s is outside the allowed range 100ms to 24h", src, c.Epoch)
			}
			return nil
		}},
	{Key: "server.bid_ttl", Type: "int 1-1000", Default: "3", Doc: "epochs a bid stays in force",
		kind: kUint, field: func(c *Config) any { return &c.BidTTL }, check: checkUintRange(func(c *Config) uint64 { return c.BidTTL }, 1, 1000, "epochs")},
	{Key: "server.plan_history", Type: "int 1-100000", Default: "288", Doc: "plans kept",
		kind: kInt, field: func(c *Config) any { return &c.PlanHistory }, check: func(c *Config, src string) error {
			if c.PlanHistory < 1 || c.PlanHistory > 100000 {
				return errf("%s: %d is outside 1 to 100000 plans", src, c.PlanHistory)
			}
			return nil
		}},
	{Key: "server.plan_history_bytes", Type: "size 1MiB-1TiB", Default: "64MiB", Doc: "bound on the kept plans' size (oldest dropped first)",
		kind: kSize, field: func(c *Config) any { return &c.PlanHistoryBytes }, check: func(c *Config, src string) error {
			if c.PlanHistoryBytes < MinPlanHistoryBytes || c.PlanHistoryBytes > MaxPlanHistoryBytes {
				return errf("%s: %s is outside 1MiB to 1TiB", src, FormatQuantity(bidding.Memory, c.PlanHistoryBytes))
			}
			return nil
		}},
	{Key: "server.raft_heartbeat", Type: "duration 10ms-30s", Default: "500ms", Doc: "Raft heartbeat timeout",
		kind: kDuration, field: func(c *Config) any { return &c.RaftHeartbeat }, check: checkRaftTimeout(func(c *Config) time.Duration { return c.RaftHeartbeat })},
	{Key: "server.raft_election", Type: "duration 10ms-30s", Default: "500ms", Doc: "Raft election timeout; at least raft_heartbeat",
		kind: kDuration, field: func(c *Config) any { return &c.RaftElection }, check: checkRaftTimeout(func(c *Config) time.Duration { return c.RaftElection })},
	{Key: "server.raft_snapshot_threshold", Type: "int 1024-1000000", Default: "8192", Doc: "Raft log entries between snapshots",
		kind: kUint, field: func(c *Config) any { return &c.RaftSnapshotThreshold }, check: checkUintRange(func(c *Config) uint64 { return c.RaftSnapshotThreshold }, 1024, 1000000, "entries")},
	{Key: "server.raft_snapshot_interval", Type: "duration 1s-24h", Default: "60s", Doc: "how often the snapshot threshold is checked (randomised up to twice this)",
		kind: kDuration, field: func(c *Config) any { return &c.RaftSnapshotInterval }, check: func(c *Config, src string) error {
			if c.RaftSnapshotInterval < time.Second || c.RaftSnapshotInterval > 24*time.Hour {
				return errf("%s: %s is outside the allowed range 1s to 24h", src, c.RaftSnapshotInterval)
			}
			return nil
		}},
	{Key: "server.raft_trailing_logs", Type: "int 1024-1000000", Default: "16384", Doc: "Raft log entries kept behind a snapshot for followers to catch up from",
		kind: kUint, field: func(c *Config) any { return &c.RaftTrailingLogs }, check: checkUintRange(func(c *Config) uint64 { return c.RaftTrailingLogs }, 1024, 1000000, "entries")},
	{Key: "server.server_stabilization_time", Type: "duration ≥ 0", Default: "10s", Doc: "how long a new server stays a non-voter before promotion",
		kind: kDuration, field: func(c *Config) any { return &c.ServerStabilization }, check: func(c *Config, src string) error {
			if c.ServerStabilization < 0 {
				return errf("%s: %s is not allowed: a duration ≥ 0", src, c.ServerStabilization)
			}
			return nil
		}},
	{Key: "server.dead_server_grace", Type: "duration ≥ 1s", Default: "5m", Doc: "how long a failed server stays in the Raft configuration",
		kind: kDuration, field: func(c *Config) any { return &c.DeadServerGrace }, check: func(c *Config, src string) error {
			if c.DeadServerGrace < time.Second {
				return errf("%s: %s is not allowed: a duration ≥ 1s", src, c.DeadServerGrace)
			}
			return nil
		}},
	{Key: "server.min_quorum", Type: fmt.Sprintf("int 1-%d", MaxServers), Default: "3", Doc: "fewest voters automatic removal may leave",
		kind: kInt, field: func(c *Config) any { return &c.MinQuorum }, check: func(c *Config, src string) error {
			if c.MinQuorum < 1 || c.MinQuorum > MaxServers {
				return errf("%s: %d is not allowed: a number of voters from 1 to %d", src, c.MinQuorum, MaxServers)
			}
			return nil
		}},
	{Key: "server.solver", Type: "block", Doc: "negotiation options the leader replicates (checked together: bidding.Options.Validate)", kind: kSection},
	{Key: "server.solver.headroom", Type: "fraction", Default: "0.05", Doc: "capacity kept free on every node",
		kind: kFloat, field: func(c *Config) any { return &c.Solver.HeadroomFrac }},
	{Key: "server.solver.share_cap", Type: "fraction", Default: "0.3", Doc: "most of a resource one service may take",
		kind: kFloat, field: func(c *Config) any { return &c.Solver.ShareCap }},
	{Key: "server.solver.boost_cap", Type: "fraction", Default: "0.3", Doc: "most of a resource boosts may move",
		kind: kFloat, field: func(c *Config) any { return &c.Solver.BoostCapFrac }},
	{Key: "server.solver.deadband", Type: "fraction", Default: "0.02", Doc: "changes smaller than this keep the previous allocation",
		kind: kFloat, field: func(c *Config) any { return &c.Solver.Deadband }},
	{Key: "server.solver.max_iterations", Type: "int", Default: "0", docDefault: "0 (solver default)", Doc: "simplex iteration bound",
		kind: kInt, field: func(c *Config) any { return &c.Solver.MaxIterations }},
	{Key: "server.solver.explain", Type: "bool", Default: "true", Doc: "keep explanations on the leader (GET /v1/plan/explain)",
		kind: kNotBool, field: func(c *Config) any { return &c.Solver.SkipExplain }},
	{Key: "server.solver.reserve", Type: "quantities block", Doc: "per-node reserve: { cpu memory io net }",
		kind: kQuantities, field: func(c *Config) any { return &c.Solver.Reserve }},
	{Key: "server.solver.budget", Type: "quantities block", Doc: "cluster-wide budget: { cpu memory io net }",
		kind: kQuantities, field: func(c *Config) any { return &c.Solver.Budget }},
	{Key: "client.enabled", Flag: "client", OldEnv: "ALLOT_CLIENT", Type: "bool", Default: "false", Doc: "forecast, bid and enforce local services",
		kind: kBool, field: func(c *Config) any { return &c.Client }},
	{Key: "client.enforce", Flag: "enforce", OldEnv: "ALLOT_ENFORCE", Type: "auto|cgroup-v1|cgroup-v2|none", Default: "auto", Doc: "enforcement driver",
		kind: kString, field: func(c *Config) any { return &c.Enforce }, check: func(c *Config, src string) error {
			switch c.Enforce {
			case "auto", "cgroup-v1", "cgroup-v2", "none":
				return nil
			}
			return errf("%s: %q is not allowed: auto, cgroup-v1, cgroup-v2 or none", src, c.Enforce)
		}},
	{Key: "client.cgroup_parent", Type: "path", Default: "/allot", Doc: "parent cgroup Allot owns",
		kind: kString, field: func(c *Config) any { return &c.CgroupParent }},
	{Key: "client.policy", Type: strings.Join(baseline.Policies(), "|"), Default: "allot", Doc: "what the runtimes enforce: the plan, or static hand sizing (bids still sent, as shadows)",
		kind: kString, field: func(c *Config) any { return &c.ClientPolicy }, check: func(c *Config, src string) error {
			if c.ClientPolicy != "" && !slices.Contains(baseline.Policies(), c.ClientPolicy) {
				return errf("%s: %q is not allowed: %s", src, c.ClientPolicy, strings.Join(baseline.Policies(), ", "))
			}
			return nil
		}},
	{Key: "client.lend_room", Type: "bool", Default: "true", Doc: "lend the cpu, io and net the plan leaves unallocated on this node to services measured well above their plan — at each epoch step and, for services held back mid-epoch, at looks every 10 s — until the next plan; with epochs of 75 s or more bids then reserve cpu, io and net up to a critical service's forecast p90 and a standard or batch one's median (false: limits are the plan's only, and bids reach the class quantile)",
		kind: kNotBool, field: func(c *Config) any { return &c.NoLend }},
	{Key: "client.memory_borrow", Type: "bool", Default: "true", Doc: "a service's memory allocation is a reservation, not a limit: its limit is the node's memory (client.capacity), so it may use memory others do not; the allocation is protected from reclaim (v1 soft limit, v2 memory.low) and, when the node's memory is all used, the kernel's OOM killer takes the process furthest above its allocation first (oom_score_adj); a small decoy process (allot oom-decoy, in client.cgroup_parent) takes the second kill the kernel sometimes makes before the first one's memory is freed (measured: docs/BENCHMARKS.md, \"The OOM decoy\"); ignored under the static policy (false: the allocation is the hard limit, and a service over it is OOM-killed even on a node with memory to spare)",
		kind: kBool, field: func(c *Config) any { return &c.MemoryBorrow }},
	{Key: "client.io_devices", Type: "list of MAJ:MIN", Doc: "block devices io limits apply to",
		kind: kList, field: func(c *Config) any { return &c.IODevices }, check: func(c *Config, src string) error { return c.validateIODevices(src) }},
	{Key: "client.capacity", Type: "quantities block", docDefault: "read from the machine", Doc: "this node's capacity: { cpu memory io net }",
		kind: kQuantities, field: func(c *Config) any { return &c.Capacity }},
	{Key: "client.docker", Type: "block", Doc: "the Docker runtime", kind: kSection},
	{Key: "client.docker.enabled", Flag: "docker", OldEnv: "ALLOT_DOCKER", Type: "bool", Default: "false", Doc: "manage this host's containers labelled allot.service",
		kind: kBool, field: func(c *Config) any { return &c.Docker }},
	{Key: "client.docker.socket", OldEnv: "ALLOT_DOCKER_SOCKET", Type: "path", Default: "/var/run/docker.sock", Doc: "the Engine API's unix socket",
		kind: kString, field: func(c *Config) any { return &c.DockerSocket }, check: func(c *Config, src string) error {
			if !strings.HasPrefix(strings.TrimPrefix(c.DockerSocket, "unix://"), "/") {
				return errf("%s: %q is not allowed: an absolute path to the Docker Engine's unix socket (e.g. /var/run/docker.sock)", src, c.DockerSocket)
			}
			return nil
		}},
	{Key: "gossip.encrypt", Flag: "encrypt", OldEnv: "ALLOT_ENCRYPT", Type: "base64, 32 bytes", Doc: "gossip encryption key (allot keygen); the flag shows it in ps",
		kind: kString, field: func(c *Config) any { return &c.Encrypt }, check: func(c *Config, src string) error {
			if c.Encrypt == "" {
				return nil
			}
			if err := checkKey(c.Encrypt); err != nil {
				return errf("%s: %v", src, err)
			}
			return nil
		}},
	{Key: "gossip.encrypt_file", Flag: "encrypt-file", OldEnv: "ALLOT_ENCRYPT_FILE", Type: "path", Doc: "file holding the gossip key",
		kind: kString, field: func(c *Config) any { return &c.EncryptFile }},
	{Key: "tls.ca_file", Flag: "tls-ca", OldEnv: "ALLOT_TLS_CA", Type: "path", Doc: "CA for mutual TLS (all three or none; reloaded on SIGHUP)",
		kind: kString, field: func(c *Config) any { return &c.TLSCA }},
	{Key: "tls.cert_file", Flag: "tls-cert", OldEnv: "ALLOT_TLS_CERT", Type: "path", Doc: "this agent's certificate (reloaded on SIGHUP)",
		kind: kString, field: func(c *Config) any { return &c.TLSCert }},
	{Key: "tls.key_file", Flag: "tls-key", OldEnv: "ALLOT_TLS_KEY", Type: "path", Doc: "its key (reloaded on SIGHUP)",
		kind: kString, field: func(c *Config) any { return &c.TLSKey }},
	{Key: "acl.enabled", Type: "bool", Default: "false", Doc: "token checks on the API (the same on every agent)",
		kind: kBool, field: func(c *Config) any { return &c.ACLEnabled }},
	{Key: "acl.tokens", Type: "block", Doc: "tokens this agent uses", kind: kSection},
	{Key: "acl.tokens.agent", OldEnv: "ALLOT_ACL_AGENT_TOKEN", Type: "secret", Doc: "the token this agent's own calls carry (needs read)",
		kind: kString, field: func(c *Config) any { return &c.ACLAgentToken }, check: func(c *Config, src string) error {
			if strings.ContainsAny(c.ACLAgentToken, " \t\r\n") {
				return errf("%s: the token must not contain whitespace", src)
			}
			return nil
		}},
	{Key: "service", Type: "block, labelled", Doc: "service \"NAME\" { class weight cgroup interface min{} max{} forecast{} sla{} }",
		kind: kServices, field: func(c *Config) any { return &c.Services }},
}

func init() {
	for i := range Settings {
		s := &Settings[i]
		if s.Env == "" && s.Key != "" && s.kind != kSection && s.kind != kQuantities && s.kind != kServices {
			s.Env = EnvName(s.Key)
		}
	}
}

func checkNodeName(c *Config, src string) error {
	if c.NodeName == "" {
		return errf("%s: node name must not be empty", src)
	}
	if err := bidding.ValidateName("node", c.NodeName); err != nil {
		return errf("%s: %q is not a valid node name: letters, digits, '.', '_', '-', at most %d characters", src, c.NodeName, bidding.MaxNameLen)
	}
	return nil
}

func checkPort(get func(*Config) int) func(*Config, string) error {
	return func(c *Config, src string) error {
		if p := get(c); p < 0 || p > 65535 {
			return errf("%s: %d is not a port (0-65535)", src, p)
		}
		return nil
	}
}

// checkUintRange refuses a count outside [lo, hi], naming its unit.
func checkUintRange(get func(*Config) uint64, lo, hi uint64, unit string) func(*Config, string) error {
	return func(c *Config, src string) error {
		if v := get(c); v < lo || v > hi {
			return errf("%s: %d is outside %d to %d %s", src, v, lo, hi, unit)
		}
		return nil
	}
}

func checkRaftTimeout(get func(*Config) time.Duration) func(*Config, string) error {
	return func(c *Config, src string) error {
		if d := get(c); d < 10*time.Millisecond || d > MaxRaftTimeout {
			return errf("%s: %s is outside 10ms to %s", src, d, MaxRaftTimeout)
		}
		return nil
	}
}

// setting looks a row up by its ID.
func setting(id string) *Setting {
	for i := range Settings {
		if Settings[i].ID() == id {
			return &Settings[i]
		}
	}
	panic("config: no setting " + id)
}

// ConfigDoc renders docs/CONFIG.md from the table.
func ConfigDoc() string {
	var b strings.Builder
	b.WriteString("# Agent configuration\n\n")
	b.WriteString("Generated from `config.Settings` (config/settings.go) by `go test ./config -run TestConfigDoc -update`; do not edit by hand.\n\n")
	b.WriteString("Precedence: defaults < config files (in order) < environment < flags. Unknown keys are errors, with a \"did you mean\" hint; quoted numbers and booleans are refused; every value is checked before the agent binds a port.\n\n")
	b.WriteString("Every key's environment variable is `ALLOT_` and the key in capitals with `.` as `_` (`server.epoch` → `ALLOT_SERVER_EPOCH`). `ALLOT_HTTP_ADDR` is both the agent's API address and where the CLI connects (as in a container running both); an agent started where it is exported for the CLI takes it unless given `--http-addr`. The names before this scheme are still read, with a warning, until a later release: ")
	var old []string
	for _, s := range Settings {
		if s.OldEnv != "" {
			old = append(old, fmt.Sprintf("`%s` → `%s`", s.OldEnv, s.Env))
		}
	}
	b.WriteString(strings.Join(old, ", ") + ".\n\n")
	b.WriteString("| key | flag | env | type | default | what |\n|---|---|---|---|---|---|\n")
	cell := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + s + "`"
	}
	for _, s := range Settings {
		flag := ""
		if s.Flag != "" {
			flag = "--" + s.Flag
		}
		def := s.Default
		if s.docDefault != "" {
			def = s.docDefault
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(s.Key), cell(flag), cell(s.Env), strings.ReplaceAll(s.Type, "|", "\\|"), cell(def), strings.ReplaceAll(s.Doc, "|", "\\|"))
	}
	return b.String()
}

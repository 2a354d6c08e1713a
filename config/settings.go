package config

import (
	"fmt"
	"strings"
)

// Setting is one row of the settings table: every key of the agent's
// configuration with its flag, environment variable, type, default and
// meaning. docs/CONFIG.md is generated from it (Markdown), and a test
// checks that the flags Load defines, the variables it reads and the keys
// the HCL/JSON decoder accepts are exactly the table's, so none of them can
// be added or renamed without the others (issue 13: the hand-kept lists let
// unknown blocks and config gaps through).
type Setting struct {
	Key     string // HCL/JSON path; "" for a flag with no file key
	Flag    string // without the dashes
	Env     string
	Type    string
	Default string
	Doc     string
}

// Settings is the table, in the order docs/CONFIG.md lists them.
var Settings = []Setting{
	{"", "config", "", "path, repeatable", "", "config file (HCL, or its JSON form: a .json name or a leading '{'); later files override earlier ones"},
	{"", "dev", "ALLOT_DEV", "bool", "false", "single node, server+client, in-memory Raft, demo services; not allowed with --data-dir"},
	{"node_name", "node", "ALLOT_NODE", "name", "hostname", "node name: letters, digits, '.', '_', '-'; unique among live nodes"},
	{"data_dir", "data-dir", "ALLOT_DATA_DIR", "path", "", "data directory (Raft log, snapshots, node ID, audit log); required unless --dev"},
	{"bind_addr", "bind", "ALLOT_BIND", "IP", "0.0.0.0", "address gossip and Raft listen on"},
	{"advertise_addr", "advertise", "ALLOT_ADVERTISE", "IP", "", "address other nodes reach this one at (required with an unspecified bind address)"},
	{"http_addr", "http-addr", "ALLOT_AGENT_HTTP_ADDR", "IP:PORT", "127.0.0.1:7480", "HTTP API address; its port may not be the gossip or Raft port"},
	{"log_level", "log-level", "ALLOT_LOG_LEVEL", "trace|debug|info|warn|error", "info", "log level"},
	{"log_json", "log-json", "ALLOT_LOG_JSON", "bool", "false", "log JSON lines"},
	{"join", "join", "ALLOT_JOIN", "list of HOST[:PORT]", "", "gossip addresses to join, retried until one answers (env: comma-separated)"},
	{"ports.gossip", "gossip-port", "ALLOT_GOSSIP_PORT", "port", "7481", "gossip port"},
	{"ports.raft", "raft-port", "ALLOT_RAFT_PORT", "port", "7482", "Raft port (servers)"},
	{"server.enabled", "server", "ALLOT_SERVER", "bool", "false", "run as a Raft voter"},
	{"server.bootstrap_expect", "bootstrap-expect", "ALLOT_BOOTSTRAP_EXPECT", "int 0-7", "0", "servers to wait for before bootstrapping (0: join an existing cluster)"},
	{"server.epoch", "epoch", "ALLOT_EPOCH", "duration 100ms-24h", "5m", "negotiation interval"},
	{"server.bid_ttl", "", "", "int 1-1000", "3", "epochs a bid stays in force"},
	{"server.plan_history", "", "", "int 1-100000", "288", "plans kept"},
	{"server.plan_history_bytes", "", "", "size 1MiB-1TiB", "64MiB", "bound on the kept plans' size (oldest dropped first)"},
	{"server.raft_heartbeat", "", "", "duration 10ms-30s", "500ms", "Raft heartbeat timeout"},
	{"server.raft_election", "", "", "duration 10ms-30s", "500ms", "Raft election timeout; at least raft_heartbeat"},
	{"server.server_stabilization_time", "", "", "duration ≥ 0", "10s", "how long a new server stays a non-voter before promotion"},
	{"server.dead_server_grace", "", "", "duration ≥ 1s", "5m", "how long a failed server stays in the Raft configuration"},
	{"server.min_quorum", "", "", "int 1-7", "3", "fewest voters automatic removal may leave"},
	{"server.solver", "", "", "block", "", "negotiation options the leader replicates"},
	{"server.solver.headroom", "", "", "fraction", "0.05", "capacity kept free on every node"},
	{"server.solver.share_cap", "", "", "fraction", "0.3", "most of a resource one service may take"},
	{"server.solver.boost_cap", "", "", "fraction", "0.3", "most of a resource boosts may move"},
	{"server.solver.deadband", "", "", "fraction", "0.02", "changes smaller than this keep the previous allocation"},
	{"server.solver.max_iterations", "", "", "int", "0 (solver default)", "simplex iteration bound"},
	{"server.solver.explain", "", "", "bool", "true", "keep explanations on the leader (GET /v1/plan/explain)"},
	{"server.solver.reserve", "", "", "quantities block", "", "per-node reserve: { cpu memory io net }"},
	{"server.solver.budget", "", "", "quantities block", "", "cluster-wide budget: { cpu memory io net }"},
	{"client.enabled", "client", "ALLOT_CLIENT", "bool", "false", "forecast, bid and enforce local services"},
	{"client.enforce", "enforce", "ALLOT_ENFORCE", "auto|cgroup-v1|cgroup-v2|none", "auto", "enforcement driver"},
	{"client.cgroup_parent", "", "", "path", "/allot", "parent cgroup Allot owns"},
	{"client.policy", "", "", "allot|static", "allot", "what the runtimes enforce: the plan, or static hand sizing (bids still sent, as shadows)"},
	{"client.io_devices", "", "", "list of MAJ:MIN", "", "block devices io limits apply to"},
	{"client.capacity", "", "", "quantities block", "read from the machine", "this node's capacity: { cpu memory io net }"},
	{"client.docker", "", "", "block", "", "the Docker runtime"},
	{"client.docker.enabled", "docker", "ALLOT_DOCKER", "bool", "false", "manage this host's containers labelled allot.service"},
	{"client.docker.socket", "", "ALLOT_DOCKER_SOCKET", "path", "/var/run/docker.sock", "the Engine API's unix socket"},
	{"gossip.encrypt", "encrypt", "ALLOT_ENCRYPT", "base64, 32 bytes", "", "gossip encryption key (allot keygen); the flag shows it in ps"},
	{"gossip.encrypt_file", "encrypt-file", "ALLOT_ENCRYPT_FILE", "path", "", "file holding the gossip key"},
	{"tls.ca_file", "tls-ca", "ALLOT_TLS_CA", "path", "", "CA for mutual TLS (all three or none)"},
	{"tls.cert_file", "tls-cert", "ALLOT_TLS_CERT", "path", "", "this agent's certificate"},
	{"tls.key_file", "tls-key", "ALLOT_TLS_KEY", "path", "", "its key"},
	{"acl.enabled", "", "ALLOT_ACL_ENABLED", "bool", "false", "token checks on the API (the same on every agent)"},
	{"acl.tokens", "", "", "block", "", "tokens this agent uses"},
	{"acl.tokens.agent", "", "ALLOT_ACL_AGENT_TOKEN", "secret", "", "the token this agent's own calls carry (needs read)"},
	{"service", "", "", "block, labelled", "", "service \"NAME\" { class weight cgroup interface min{} max{} forecast{} sla{} }"},
}

// ConfigDoc renders docs/CONFIG.md from the table.
func ConfigDoc() string {
	var b strings.Builder
	b.WriteString("# Agent configuration\n\n")
	b.WriteString("Generated from `config.Settings` (config/settings.go) by `go test ./config -run TestConfigDoc -update`; do not edit by hand.\n\n")
	b.WriteString("Precedence: defaults < config files (in order) < environment < flags. Unknown keys are errors, with a \"did you mean\" hint; quoted numbers and booleans are refused; every value is checked before the agent binds a port.\n\n")
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
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(s.Key), cell(flag), cell(s.Env), s.Type, cell(s.Default), strings.ReplaceAll(s.Doc, "|", "\\|"))
	}
	return b.String()
}

// Command allot is Allot's single binary: the agent and every CLI command.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// globals are the flags every CLI command accepts, anywhere on the line.
type globals struct {
	httpAddr string
	token    string
	caFile   string
	// Mutual TLS: a client certificate and key for agents that require one,
	// and the name to verify the agent's certificate under (cmd/allot/tls.go).
	clientCert    string
	clientKey     string
	tlsServerName string
	json          bool
}

type env struct {
	g         globals
	tlsConfig *tls.Config // nil: plain HTTP (see loadTLS)
	stdout    io.Writer
	stderr    io.Writer
	getenv    func(string) string
}

// exit codes
const (
	exitOK    = 0
	exitErr   = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `Usage: allot [--http-addr ADDR] [--token T] [--json] COMMAND [ARGS]

Agent:
  agent [flags]                       run an agent (allot agent --help for flags)
Cluster:
  members                             gossip members
  join ADDR...                        ask the local agent to join
  leave                               graceful leave
  operator raft list-peers            Raft configuration
  health                              exit 0 when the agent serves and knows a leader (container health checks)
  operator raft remove-peer --id ID   remove a server from Raft
  status                              leader, peers, members, last plan at a glance
  audit [--since 1h|TIME]             the writes this server accepted as leader (operator)
Allocation:
  services                            registered services and their allocations
  service register FILE               register services from an HCL or JSON file
  service deregister NAME
  bid FILE                            submit a bid (JSON, one or an array; - for stdin)
  plan [--epoch N] [--wait]           the committed plan
  plan explain SERVICE                why a service got what it got
  boost SERVICE --factor F --ttl D --reason TEXT
ACLs (acl { enabled = true } on every agent):
  acl bootstrap                       the first operator token (once per cluster)
  acl token create --policy operator|read|bid [--service NAME] [--description D]
  acl token list | acl token self | acl token delete ACCESSOR
Tools:
  forecast SERVICE [--epochs N]       forecast vs actual per node and resource, with intervals
  forecast eval ...                   score the forecasters (M4 Hourly, CSV series)
  usage import --service S --node N FILE   seed a forecaster with past usage (CSV or Prometheus JSON)
  sim --trace DIR [--out DIR]         offline replay: policies side by side, report and plots
  bench solver --services N ...       time the solver against a sort of the same size
  bench cluster [--nodes N ...]       3 servers + N simulated nodes: RSS, snapshot, commit, ingest, catch-up (etcd alongside)
  loadgen --cpu C --memory B ...      a real load; JSON lines of asked vs got (allot loadgen --help)
  keygen                              a gossip encryption key
  tls ca create [--dir D]             a cluster CA: allot-agent-ca.pem, allot-agent-ca-key.pem
  tls cert create --server|--client   a certificate signed by it: dc-server-allot-N.pem, -key.pem
  version
Global flags: --http-addr (ALLOT_HTTP_ADDR, default 127.0.0.1:7480), --token (ALLOT_TOKEN), --json,
  --ca-file (ALLOT_CA_FILE), --client-cert (ALLOT_CLIENT_CERT), --client-key (ALLOT_CLIENT_KEY),
  --tls-server-name (ALLOT_TLS_SERVER_NAME): HTTPS with mutual TLS when a CA file is given or the
  address starts with https://
`

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	e.g.httpAddr = getenv("ALLOT_HTTP_ADDR")
	if e.g.httpAddr == "" {
		e.g.httpAddr = "127.0.0.1:7480"
	}
	e.g.token = getenv("ALLOT_TOKEN")
	e.g.caFile, e.g.clientCert, e.g.clientKey = getenv("ALLOT_CA_FILE"), getenv("ALLOT_CLIENT_CERT"), getenv("ALLOT_CLIENT_KEY")
	e.g.tlsServerName = getenv("ALLOT_TLS_SERVER_NAME")
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	// Leading global flags.
	rest, err := e.takeGlobals(args, true)
	if err != nil {
		fmt.Fprintln(stderr, "allot:", err)
		return exitUsage
	}
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, cargs := rest[0], rest[1:]
	switch cmd {
	case "agent":
		return cmdAgent(e, cargs)
	case "bench":
		return cmdBench(e, cargs)
	case "sim":
		return cmdSim(e, cargs)
	case "loadgen":
		return cmdLoadgen(e, cargs)
	case "forecast":
		if len(cargs) > 0 && cargs[0] == "eval" {
			return cmdForecastEval(e, cargs[1:])
		}
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	// Every other command takes global flags anywhere.
	cargs, err = e.takeGlobals(cargs, false)
	if err != nil {
		fmt.Fprintln(stderr, "allot:", err)
		return exitUsage
	}
	if err := e.loadTLS(cmd); err != nil {
		fmt.Fprintln(stderr, "allot:", err)
		return exitUsage
	}
	switch cmd {
	case "version":
		return cmdVersion(e, cargs)
	case "keygen":
		return cmdKeygen(e, cargs)
	case "acl":
		return cmdACL(e, cargs)
	case "tls":
		return cmdTLS(e, cargs)
	case "members":
		return cmdMembers(e, cargs)
	case "join":
		return cmdJoin(e, cargs)
	case "leave":
		return cmdLeave(e, cargs)
	case "operator":
		return cmdOperator(e, cargs)
	case "status":
		return cmdStatus(e, cargs)
	case "health":
		return cmdHealth(e, cargs)
	case "audit":
		return cmdAudit(e, cargs)
	case "services":
		return cmdServices(e, cargs)
	case "service":
		return cmdService(e, cargs)
	case "bid":
		return cmdBid(e, cargs)
	case "plan":
		return cmdPlan(e, cargs)
	case "boost":
		return cmdBoost(e, cargs)
	case "forecast":
		return cmdForecast(e, cargs)
	case "usage":
		return cmdUsage(e, cargs)
	}
	fmt.Fprintf(stderr, "allot: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// takeGlobals removes the global flags from args. With leading set, it stops
// at the first word that is not a global flag.
func (e *env) takeGlobals(args []string, leading bool) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			if leading {
				return append(out, args[i:]...), nil
			}
			out = append(out, a)
			continue
		}
		take := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "json":
			e.g.json = !hasVal || val == "true"
		case "http-addr":
			e.g.httpAddr, err = take()
		case "token":
			e.g.token, err = take()
		case "ca-file":
			e.g.caFile, err = take()
		case "client-cert":
			e.g.clientCert, err = take()
		case "client-key":
			e.g.clientKey, err = take()
		case "tls-server-name":
			e.g.tlsServerName, err = take()
		default:
			if leading {
				return append(out, args[i:]...), nil
			}
			out = append(out, a)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

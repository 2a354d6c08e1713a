package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// file is the shape of a config file (HCL, or the same keys as JSON).
type file struct {
	NodeName  *string        `hcl:"node_name,optional"`
	DataDir   *string        `hcl:"data_dir,optional"`
	Bind      *string        `hcl:"bind_addr,optional"`
	Advertise *string        `hcl:"advertise_addr,optional"`
	HTTPAddr  *string        `hcl:"http_addr,optional"`
	LogLevel  *string        `hcl:"log_level,optional"`
	LogJSON   *bool          `hcl:"log_json,optional"`
	Join      []string       `hcl:"join,optional"`
	Ports     *portsBlock    `hcl:"ports,block"`
	Server    *serverBlock   `hcl:"server,block"`
	Client    *clientBlock   `hcl:"client,block"`
	Gossip    *gossipBlock   `hcl:"gossip,block"`
	TLS       *tlsBlock      `hcl:"tls,block"`
	ACL       *aclBlock      `hcl:"acl,block"`
	Services  []serviceBlock `hcl:"service,block"`
}

type portsBlock struct {
	Gossip *int `hcl:"gossip,optional"`
	Raft   *int `hcl:"raft,optional"`
}

type serverBlock struct {
	Enabled         *bool        `hcl:"enabled,optional"`
	BootstrapExpect *int         `hcl:"bootstrap_expect,optional"`
	Epoch           *string      `hcl:"epoch,optional"`
	BidTTL          *int         `hcl:"bid_ttl,optional"`
	PlanHistory     *int         `hcl:"plan_history,optional"`
	PlanHistoryB    *string      `hcl:"plan_history_bytes,optional"`
	RaftHeartbeat   *string      `hcl:"raft_heartbeat,optional"`
	RaftElection    *string      `hcl:"raft_election,optional"`
	Stabilization   *string      `hcl:"server_stabilization_time,optional"`
	DeadServerGrace *string      `hcl:"dead_server_grace,optional"`
	MinQuorum       *int         `hcl:"min_quorum,optional"`
	Solver          *solverBlock `hcl:"solver,block"`
}

// solverBlock sets the negotiation options a leader replicates (server.solver).
type solverBlock struct {
	Headroom      *float64    `hcl:"headroom,optional"`
	ShareCap      *float64    `hcl:"share_cap,optional"`
	BoostCap      *float64    `hcl:"boost_cap,optional"`
	Deadband      *float64    `hcl:"deadband,optional"`
	MaxIterations *int        `hcl:"max_iterations,optional"`
	Explain       *bool       `hcl:"explain,optional"`
	Reserve       *Quantities `hcl:"reserve,block"`
	Budget        *Quantities `hcl:"budget,block"`
}

// apply sets the options o from the block; where names the file.
func (b *solverBlock) apply(o *bidding.Options, where string) error {
	for _, f := range []struct {
		dst *float64
		v   *float64
	}{{&o.HeadroomFrac, b.Headroom}, {&o.ShareCap, b.ShareCap}, {&o.BoostCapFrac, b.BoostCap}, {&o.Deadband, b.Deadband}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if b.MaxIterations != nil {
		o.MaxIterations = *b.MaxIterations
	}
	if b.Explain != nil {
		o.SkipExplain = !*b.Explain
	}
	if b.Reserve != nil {
		v, err := b.Reserve.Vec("server.solver.reserve" + where)
		if err != nil {
			return err
		}
		o.Reserve = v
	}
	if b.Budget != nil {
		v, err := b.Budget.Vec("server.solver.budget" + where)
		if err != nil {
			return err
		}
		o.Budget = v
	}
	if err := o.Validate(); err != nil {
		return errf("server.solver%s: %v", where, err)
	}
	return nil
}

type clientBlock struct {
	Enabled      *bool        `hcl:"enabled,optional"`
	Enforce      *string      `hcl:"enforce,optional"`
	CgroupParent *string      `hcl:"cgroup_parent,optional"`
	IODevices    []string     `hcl:"io_devices,optional"`
	Policy       *string      `hcl:"policy,optional"`
	Capacity     *Quantities  `hcl:"capacity,block"`
	Docker       *dockerBlock `hcl:"docker,block"`
}

type dockerBlock struct {
	Enabled *bool   `hcl:"enabled,optional"`
	Socket  *string `hcl:"socket,optional"`
}

type gossipBlock struct {
	Encrypt     *string `hcl:"encrypt,optional"`
	EncryptFile *string `hcl:"encrypt_file,optional"`
}

type tlsBlock struct {
	CA   *string `hcl:"ca_file,optional"`
	Cert *string `hcl:"cert_file,optional"`
	Key  *string `hcl:"key_file,optional"`
}

type aclBlock struct {
	Enabled *bool           `hcl:"enabled,optional"`
	Tokens  *aclTokensBlock `hcl:"tokens,block"`
}

// aclTokensBlock is acl { tokens { agent = "…" } }, as in Consul.
type aclTokensBlock struct {
	Agent *string `hcl:"agent,optional"`
}

// Quantities is a block of per-resource quantities in a config, service or
// scenario file: { cpu = "250m"  memory = "256MiB"  io = "200MiB/s"  net = "500Mbit" }.
type Quantities struct {
	CPU    *string `hcl:"cpu,optional"`
	Memory *string `hcl:"memory,optional"`
	IO     *string `hcl:"io,optional"`
	Net    *string `hcl:"net,optional"`
}

type serviceBlock struct {
	Name      string      `hcl:"name,label"`
	Class     *string     `hcl:"class,optional"`
	Weight    *float64    `hcl:"weight,optional"`
	Cgroup    *string     `hcl:"cgroup,optional"`
	Interface *string     `hcl:"interface,optional"`
	Min       *Quantities `hcl:"min,block"`
	Max       *Quantities `hcl:"max,block"`
	Forecast  *struct {
		Model      *string  `hcl:"model,optional"`
		Horizon    *int     `hcl:"horizon,optional"`
		Interval   *string  `hcl:"interval,optional"`
		Regressors []string `hcl:"regressors,optional"`
	} `hcl:"forecast,block"`
	SLA *struct {
		ErrorRateAbove  *float64 `hcl:"error_rate_above,optional"`
		LatencyP99Above *string  `hcl:"latency_p99_above,optional"`
		Probe           *string  `hcl:"probe,optional"`
		Metric          *string  `hcl:"metric,optional"`
		MetricAbove     *float64 `hcl:"metric_above,optional"`
		BoostFactor     *float64 `hcl:"boost_factor,optional"`
		BoostEpochs     *int     `hcl:"boost_epochs,optional"`
	} `hcl:"sla,block"`
}

// DecodeFile decodes an HCL file (or its JSON form: a .json name or a
// leading '{') into target, a struct with hcl tags. The contract's one-line
// blocks are accepted; errors are one line with the file position.
func DecodeFile(name string, src []byte, target any) error {
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	trim := strings.TrimSpace(string(src))
	if strings.HasSuffix(name, ".json") || strings.HasPrefix(trim, "{") {
		if !strings.HasPrefix(trim, "{") {
			return errf("%s: the root of a JSON config must be an object {…}", name)
		}
		f, diags = p.ParseJSON(src, name)
	} else {
		f, diags = p.ParseHCL(expandOneLineBlocks(src), name)
	}
	if diags.HasErrors() {
		return errf("%s", oneLine(diags))
	}
	if d := gohcl.DecodeBody(f.Body, nil, target); d.HasErrors() {
		return errf("%s", oneLine(d))
	}
	return strictTypes(f.Body, reflect.TypeOf(target))
}

// parseFile parses an agent config or service file.
func parseFile(name string, src []byte) (*file, error) {
	var out file
	if err := DecodeFile(name, src, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func oneLine(d hcl.Diagnostics) string {
	for _, x := range d {
		if x.Severity == hcl.DiagError {
			loc := ""
			if x.Subject != nil {
				loc = x.Subject.String() + ": "
			}
			return strings.ReplaceAll(loc+x.Summary+": "+x.Detail, "\n", " ")
		}
	}
	return d.Error()
}

// ParseServiceFile reads a service definition file (HCL `service "name" {…}`
// blocks, or the JSON form) and returns the validated services.
func ParseServiceFile(path string) ([]bidding.Service, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading service file: %w", err)
	}
	return ParseServices(path, b)
}

// ParseServices parses service blocks from bytes named name.
func ParseServices(name string, src []byte) ([]bidding.Service, error) {
	f, err := parseFile(name, src)
	if err != nil {
		return nil, err
	}
	if len(f.Services) == 0 {
		return nil, errf("%s: no service block found (expected service \"NAME\" { … })", name)
	}
	var out []bidding.Service
	for _, sb := range f.Services {
		s, err := sb.toService(name)
		if err != nil {
			return nil, err
		}
		if err := s.ValidateNew(); err != nil {
			return nil, errf("service %q in %s: %v", sb.Name, name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (sb serviceBlock) toService(file string) (bidding.Service, error) {
	s := bidding.Service{Name: sb.Name, Class: bidding.ClassStandard}
	if sb.Class != nil {
		s.Class = bidding.Class(*sb.Class)
	}
	if sb.Weight != nil {
		s.Weight = *sb.Weight
	}
	if sb.Cgroup != nil {
		s.Cgroup = *sb.Cgroup
	}
	if sb.Interface != nil {
		s.Interface = *sb.Interface
	}
	var err error
	if s.Min, err = sb.Min.Vec(fmt.Sprintf("service %q min in %s", sb.Name, file)); err != nil {
		return s, err
	}
	if s.Max, err = sb.Max.Vec(fmt.Sprintf("service %q max in %s", sb.Name, file)); err != nil {
		return s, err
	}
	if sb.Forecast != nil {
		s.Forecast = &bidding.ForecastSpec{}
		if sb.Forecast.Model != nil {
			s.Forecast.Model = *sb.Forecast.Model
		}
		if sb.Forecast.Horizon != nil {
			s.Forecast.Horizon = *sb.Forecast.Horizon
		}
		if sb.Forecast.Interval != nil {
			s.Forecast.Interval = *sb.Forecast.Interval // checked by ValidateNew
		}
		s.Forecast.Regressors = sb.Forecast.Regressors
	}
	if sb.SLA != nil {
		s.SLA = &bidding.SLASpec{}
		if sb.SLA.ErrorRateAbove != nil {
			s.SLA.ErrorRateAbove = *sb.SLA.ErrorRateAbove
		}
		if sb.SLA.LatencyP99Above != nil {
			if _, err := time.ParseDuration(*sb.SLA.LatencyP99Above); err != nil {
				return s, errf("service %q sla.latency_p99_above in %s: %q is not a duration", sb.Name, file, *sb.SLA.LatencyP99Above)
			}
			s.SLA.LatencyP99Above = *sb.SLA.LatencyP99Above
		}
		if sb.SLA.Probe != nil {
			s.SLA.Probe = *sb.SLA.Probe
		}
		if sb.SLA.Metric != nil {
			s.SLA.Metric = *sb.SLA.Metric
		}
		if sb.SLA.MetricAbove != nil {
			s.SLA.MetricAbove = *sb.SLA.MetricAbove
		}
		if sb.SLA.BoostFactor != nil {
			if *sb.SLA.BoostFactor == 0 {
				return s, errf("service %q sla.boost_factor in %s: 0 is outside [1, %v] (leave it out for the default %v)", sb.Name, file, bidding.MaxBoost, bidding.DefaultSLABoostFactor)
			}
			s.SLA.BoostFactor = *sb.SLA.BoostFactor
		}
		if sb.SLA.BoostEpochs != nil {
			if n := *sb.SLA.BoostEpochs; n < 1 || uint64(n) > bidding.MaxSLABoostEpochs {
				return s, errf("service %q sla.boost_epochs in %s: %d is outside [1, %d] (leave it out for the default %d)", sb.Name, file, n, bidding.MaxSLABoostEpochs, bidding.DefaultSLABoostEpochs)
			}
			s.SLA.BoostEpochs = uint64(*sb.SLA.BoostEpochs)
		}
		if err := s.SLA.Validate(); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			return s, errf("service %q %s in %s: %s", sb.Name, key, file, msg)
		}
	}
	return s, nil
}

// Vec parses the block into base units; where prefixes error messages.
func (q *Quantities) Vec(where string) (bidding.Vec, error) {
	var v bidding.Vec
	if q == nil {
		return v, nil
	}
	for r, p := range map[bidding.Resource]*string{bidding.CPU: q.CPU, bidding.Memory: q.Memory, bidding.IO: q.IO, bidding.Net: q.Net} {
		if p == nil {
			continue
		}
		n, err := ParseQuantity(r, *p)
		if err != nil {
			return v, errf("%s: %s: %v", where, r, err)
		}
		v[r] = n
	}
	return v, nil
}

// Load builds the configuration from args (the agent's flags, without the
// word "agent") and the environment, and validates it. Usage problems and
// invalid values come back as *Error.
func Load(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := Defaults()
	fs := flag.NewFlagSet("allot agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs multi
	var joins multi
	fs.Var(&configs, "config", "config file (HCL or JSON); repeatable")
	dev := fs.Bool("dev", false, "single-node dev mode: server+client, in-memory Raft, demo services")
	server := fs.Bool("server", false, "run as a Raft voter")
	client := fs.Bool("client", false, "forecast, bid and enforce local services")
	bootstrap := fs.Int("bootstrap-expect", 0, "servers to wait for before bootstrapping")
	node := fs.String("node", "", "node name (default: hostname)")
	dataDir := fs.String("data-dir", "", "data directory (required unless --dev)")
	bind := fs.String("bind", "", "address for gossip and Raft (default 0.0.0.0)")
	advertise := fs.String("advertise", "", "address others use to reach this node")
	httpAddr := fs.String("http-addr", "", "HTTP API address (default 127.0.0.1:7480)")
	gossipPort := fs.Int("gossip-port", 0, "gossip port (default 7481)")
	raftPort := fs.Int("raft-port", 0, "Raft port (default 7482)")
	fs.Var(&joins, "join", "gossip address to join; repeatable; retried until it succeeds")
	epoch := fs.String("epoch", "", "negotiation interval (default 5m)")
	encrypt := fs.String("encrypt", "", "gossip encryption key (base64, 32 bytes; shown by ps: prefer --encrypt-file)")
	encryptFile := fs.String("encrypt-file", "", "file holding the gossip encryption key")
	tlsCA := fs.String("tls-ca", "", "CA certificate for mutual TLS")
	tlsCert := fs.String("tls-cert", "", "certificate for mutual TLS")
	tlsKey := fs.String("tls-key", "", "key for mutual TLS")
	enforce := fs.String("enforce", "", "client enforcement: auto | cgroup-v1 | cgroup-v2 | none")
	docker := fs.Bool("docker", false, "client: manage this host's Docker containers labelled allot.service")
	logLevel := fs.String("log-level", "", "trace | debug | info | warn | error")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	// A usage error is one line and a hint, not the whole usage text; -h
	// prints the flags.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage: allot agent [flags]")
			fs.PrintDefaults()
			return nil, &Error{Msg: err.Error()}
		}
		return nil, errf("%v (allot agent -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return nil, errf("agent: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Files.
	for _, path := range configs {
		if err := c.mergeFile(path); err != nil {
			return nil, err
		}
	}
	// Environment.
	if err := c.mergeEnv(getenv); err != nil {
		return nil, err
	}
	// Flags.
	str := func(name, key string, dst *string, v string) {
		if set[name] {
			*dst = v
			c.set(key, "flag --"+name)
		}
	}
	str("node", "node_name", &c.NodeName, *node)
	str("data-dir", "data_dir", &c.DataDir, *dataDir)
	str("bind", "bind", &c.Bind, *bind)
	str("advertise", "advertise", &c.Advertise, *advertise)
	str("http-addr", "http_addr", &c.HTTPAddr, *httpAddr)
	str("encrypt", "gossip.encrypt", &c.Encrypt, *encrypt)
	str("encrypt-file", "gossip.encrypt_file", &c.EncryptFile, *encryptFile)
	str("tls-ca", "tls.ca_file", &c.TLSCA, *tlsCA)
	str("tls-cert", "tls.cert_file", &c.TLSCert, *tlsCert)
	str("tls-key", "tls.key_file", &c.TLSKey, *tlsKey)
	str("enforce", "client.enforce", &c.Enforce, *enforce)
	str("log-level", "log_level", &c.LogLevel, *logLevel)
	if set["dev"] {
		c.Dev = *dev
		c.set("dev", "flag --dev")
	}
	if set["server"] {
		c.Server = *server
		c.set("server", "flag --server")
	}
	if set["client"] {
		c.Client = *client
		c.set("client", "flag --client")
	}
	if set["docker"] {
		c.Docker = *docker
		c.set("client.docker.enabled", "flag --docker")
	}
	if set["bootstrap-expect"] {
		c.BootstrapExpect = *bootstrap
		c.set("server.bootstrap_expect", "flag --bootstrap-expect")
	}
	if set["gossip-port"] {
		c.GossipPort = *gossipPort
		c.set("ports.gossip", "flag --gossip-port")
	}
	if set["raft-port"] {
		c.RaftPort = *raftPort
		c.set("ports.raft", "flag --raft-port")
	}
	if set["join"] {
		c.Join = joins
		c.set("join", "flag --join")
	}
	if set["log-json"] {
		c.LogJSON = *logJSON
	}
	if set["epoch"] {
		if err := c.setDuration(&c.Epoch, "server.epoch", "flag --epoch", *epoch); err != nil {
			return nil, err
		}
	}
	if c.Dev {
		c.applyDevDefaults(set)
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
func (c *Config) applyDevDefaults(set map[string]bool) {
	if _, ok := c.src["server.epoch"]; !ok {
		c.Epoch = 3 * time.Second
	}
	if _, ok := c.src["client.enforce"]; !ok {
		c.Enforce = "none"
	}
	if _, ok := c.src["bind"]; !ok {
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

func (c *Config) setDuration(dst *time.Duration, key, source, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return errf("%s: %q is not a duration (e.g. 5m, 30s, 1h)", source, v)
	}
	*dst = d
	c.set(key, source)
	return nil
}

func (c *Config) mergeFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errf("--config: %q cannot be read: %v", path, err)
	}
	f, err := parseFile(path, b)
	if err != nil {
		return err
	}
	in := " in " + filepath.Base(path)
	s := func(key string, dst *string, v *string) {
		if v != nil {
			*dst = *v
			c.set(key, key+in)
		}
	}
	s("node_name", &c.NodeName, f.NodeName)
	s("data_dir", &c.DataDir, f.DataDir)
	s("bind", &c.Bind, f.Bind)
	s("advertise", &c.Advertise, f.Advertise)
	s("http_addr", &c.HTTPAddr, f.HTTPAddr)
	s("log_level", &c.LogLevel, f.LogLevel)
	if f.LogJSON != nil {
		c.LogJSON = *f.LogJSON
	}
	if len(f.Join) > 0 {
		c.Join = f.Join
		c.set("join", "join"+in)
	}
	if p := f.Ports; p != nil {
		if p.Gossip != nil {
			c.GossipPort = *p.Gossip
			c.set("ports.gossip", "ports.gossip"+in)
		}
		if p.Raft != nil {
			c.RaftPort = *p.Raft
			c.set("ports.raft", "ports.raft"+in)
		}
	}
	if sv := f.Server; sv != nil {
		if sv.Enabled != nil {
			c.Server = *sv.Enabled
			c.set("server", "server.enabled"+in)
		}
		if sv.BootstrapExpect != nil {
			c.BootstrapExpect = *sv.BootstrapExpect
			c.set("server.bootstrap_expect", "server.bootstrap_expect"+in)
		}
		for _, d := range []struct {
			k   string
			dst *time.Duration
			v   *string
		}{{"server.epoch", &c.Epoch, sv.Epoch}, {"server.raft_heartbeat", &c.RaftHeartbeat, sv.RaftHeartbeat}, {"server.raft_election", &c.RaftElection, sv.RaftElection},
			{"server.server_stabilization_time", &c.ServerStabilization, sv.Stabilization}, {"server.dead_server_grace", &c.DeadServerGrace, sv.DeadServerGrace}} {
			if d.v != nil {
				if err := c.setDuration(d.dst, d.k, d.k+in, *d.v); err != nil {
					return err
				}
			}
		}
		if sv.BidTTL != nil {
			if *sv.BidTTL < 1 {
				return errf("server.bid_ttl%s: %d is outside 1 to 1000 epochs", in, *sv.BidTTL)
			}
			c.BidTTL = uint64(*sv.BidTTL)
			c.set("server.bid_ttl", "server.bid_ttl"+in)
		}
		if sv.MinQuorum != nil {
			c.MinQuorum = *sv.MinQuorum
			c.set("server.min_quorum", "server.min_quorum"+in)
		}
		if sv.PlanHistory != nil {
			c.PlanHistory = *sv.PlanHistory
			c.set("server.plan_history", "server.plan_history"+in)
		}
		if sv.PlanHistoryB != nil {
			n, err := ParseQuantity(bidding.Memory, *sv.PlanHistoryB)
			if err != nil {
				return errf("server.plan_history_bytes%s: %q: %v (a size such as \"64MiB\")", in, *sv.PlanHistoryB, err)
			}
			c.PlanHistoryBytes = n
			c.set("server.plan_history_bytes", "server.plan_history_bytes"+in)
		}
		if sv.Solver != nil {
			if err := sv.Solver.apply(&c.Solver, in); err != nil {
				return err
			}
			c.set("server.solver", "server.solver"+in)
		}
	}
	if cl := f.Client; cl != nil {
		if cl.Enabled != nil {
			c.Client = *cl.Enabled
			c.set("client", "client.enabled"+in)
		}
		s("client.enforce", &c.Enforce, cl.Enforce)
		s("client.cgroup_parent", &c.CgroupParent, cl.CgroupParent)
		s("client.policy", &c.ClientPolicy, cl.Policy)
		if cl.IODevices != nil {
			c.IODevices = cl.IODevices
			c.set("client.io_devices", "client.io_devices"+in)
		}
		if d := cl.Docker; d != nil {
			if d.Enabled != nil {
				c.Docker = *d.Enabled
				c.set("client.docker.enabled", "client.docker.enabled"+in)
			}
			s("client.docker.socket", &c.DockerSocket, d.Socket)
		}
		if cl.Capacity != nil {
			v, err := cl.Capacity.Vec("client.capacity" + in)
			if err != nil {
				return err
			}
			c.Capacity = v
		}
	}
	if g := f.Gossip; g != nil {
		s("gossip.encrypt", &c.Encrypt, g.Encrypt)
		s("gossip.encrypt_file", &c.EncryptFile, g.EncryptFile)
	}
	if t := f.TLS; t != nil {
		s("tls.ca_file", &c.TLSCA, t.CA)
		s("tls.cert_file", &c.TLSCert, t.Cert)
		s("tls.key_file", &c.TLSKey, t.Key)
	}
	if a := f.ACL; a != nil {
		if a.Enabled != nil {
			c.ACLEnabled = *a.Enabled
			c.set("acl.enabled", "acl.enabled"+in)
		}
		if a.Tokens != nil {
			s("acl.tokens.agent", &c.ACLAgentToken, a.Tokens.Agent)
		}
	}
	for _, sb := range f.Services {
		svc, err := sb.toService(path)
		if err != nil {
			return err
		}
		c.Services = append(c.Services, svc)
	}
	return nil
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

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

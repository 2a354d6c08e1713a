package fsm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/allot-dev/allot/bidding"
)

// Member is a node's record in the replicated state.
type Member struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Server     bool        `json:"server"`
	Client     bool        `json:"client"`
	RaftAddr   string      `json:"raft_addr,omitempty"`
	HTTPAddr   string      `json:"http_addr,omitempty"`
	GossipAddr string      `json:"gossip_addr,omitempty"`
	Version    string      `json:"version,omitempty"`
	Status     string      `json:"status,omitempty"` // alive | failed | left, as last reconciled
	Capacity   bidding.Vec `json:"capacity"`
}

// Role is "server", "client" or "server+client".
func (m *Member) Role() string {
	switch {
	case m.Server && m.Client:
		return "server+client"
	case m.Server:
		return "server"
	case m.Client:
		return "client"
	}
	return "none"
}

// Settings are the cluster-wide negotiation settings, agreed through Raft.
type Settings struct {
	EpochMS     int64  `json:"epoch_ms"`
	BidTTL      uint64 `json:"bid_ttl"`
	PlanHistory int    `json:"plan_history"`
	// PlanHistoryBytes bounds the kept plans' size in bytes (their JSON
	// encoding, see planSize): the oldest go first, the latest always
	// stays. 0 (states written before the setting existed): no byte bound.
	PlanHistoryBytes int64 `json:"plan_history_bytes,omitempty"`
	// PlanHistoryFormat is how plans older than the latest WholePlans are
	// kept: PlanHistoryFull (0: whole; states written before the setting
	// existed) or PlanHistoryCompact (1: as PastPlans, pastplans.go). It
	// never goes down, and takes effect at the next plan.
	PlanHistoryFormat int             `json:"plan_history_format,omitempty"`
	Options           bidding.Options `json:"options"`
}

// DefaultPlanHistoryBytes is the default bound of the kept plans' size.
const DefaultPlanHistoryBytes = 64 << 20

// DefaultSettings apply until the first leader writes its own.
func DefaultSettings() Settings {
	return Settings{EpochMS: 300000, BidTTL: 3, PlanHistory: 288, PlanHistoryBytes: DefaultPlanHistoryBytes,
		PlanHistoryFormat: PlanHistoryCompact, Options: bidding.DefaultOptions()}
}

// state is the replicated data. Every field is a map keyed by a string so
// that its canonical (sorted) JSON form is stable; encoding/json sorts map keys.
type state struct {
	Services map[string]bidding.Service        `json:"services"`
	Bids     map[string]map[uint64]bidding.Bid `json:"bids"` // placement key "service/node" -> epoch -> bid
	Boosts   map[string]bidding.Boost          `json:"boosts"`
	Members  map[string]Member                 `json:"members"` // by ID
	Plans    map[uint64]bidding.Plan           `json:"plans"`   // by epoch: the latest WholePlans (format 1) or all kept (format 0)
	// Past are the kept plans older than the whole ones, oldest first, in
	// compact form (pastplans.go). Omitted while empty, so a state written
	// before them keeps its bytes and hash.
	Past     []PastPlan `json:"past_plans,omitempty"`
	Settings *Settings  `json:"settings,omitempty"`
	Index    uint64     `json:"index"`      // last applied log index
	PlanIdx  uint64     `json:"plan_index"` // index of the latest plan entry
	// ACL state: tokens by accessor ID (secrets only as SHA-256) and the
	// index of the bootstrap (0: not bootstrapped). Both are omitted while
	// empty, so a cluster that never used ACLs keeps its state bytes and hash.
	ACLTokens         map[string]ACLToken `json:"acl_tokens,omitempty"`
	ACLBootstrapIndex uint64              `json:"acl_bootstrap_index,omitempty"`
	// Usage is what clients reported each placement used, paired with its
	// bid, for the last plan_history epochs (placement key -> pairs, oldest
	// first). Omitted while empty, like the ACL state.
	Usage map[string][]UsagePair `json:"usage,omitempty"`
	// Regressors are external regressor values by name, oldest first, at
	// most RegressorKeep(plan_history) per name. Omitted while empty.
	Regressors map[string][]RegressorPoint `json:"regressors,omitempty"`
	// History is the imported usage history by placement key, replaced by
	// a newer import and dropped with its service. Omitted while empty, so
	// older snapshots restore and a cluster that never imported keeps its
	// state bytes and hash.
	History map[string]UsageHistory `json:"history,omitempty"`

	// planBytes memoises planSize per kept epoch. It is derived from Plans
	// (unexported: in neither snapshots nor the hash) and rebuilt lazily
	// after a Restore.
	planBytes map[uint64]int64
	// clientNodes is the set of client member names, derived from Members
	// (indexClientNodes); nil means not built yet: hasClientNode scans.
	clientNodes map[string]struct{}
}

func newState() *state {
	return &state{
		Services: map[string]bidding.Service{},
		Bids:     map[string]map[uint64]bidding.Bid{},
		Boosts:   map[string]bidding.Boost{},
		Members:  map[string]Member{},
		Plans:    map[uint64]bidding.Plan{},
	}
}

func placementKey(service, node string) string { return service + "/" + node }

func (s *state) settings() Settings {
	if s.Settings == nil {
		return DefaultSettings()
	}
	return *s.Settings
}

func (s *state) latestEpoch() uint64 {
	var e uint64
	for k := range s.Plans {
		if k > e {
			e = k
		}
	}
	return e
}

func (s *state) hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Every field is plain data; a marshal failure is a programming error.
		panic("fsm: state does not encode: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sortedEpochs[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

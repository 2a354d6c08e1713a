package fsm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/raft"
	"pgregory.net/rapid"
)

type fataler interface{ Fatal(args ...any) }

func mustEncode(t fataler, ct CommandType, v any) []byte {
	b, err := Encode(ct, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func svc(name string, class bidding.Class) bidding.Service {
	return bidding.Service{Name: name, Class: class, Min: bidding.Vec{100, 64 << 20}, Max: bidding.Vec{2000, 2 << 30}}
}

func bid(service, node string, epoch uint64, cpu int64) bidding.Bid {
	return bidding.Bid{Service: service, Node: node, Epoch: epoch, Resources: map[string]bidding.Quantiles{
		"cpu":    {P50: cpu, P90: cpu * 3 / 2, P99: cpu * 2},
		"memory": {P50: 256 << 20, P90: 384 << 20, P99: 512 << 20},
	}}
}

func member(id, name string) Member {
	return Member{ID: id, Name: name, Server: true, Client: true, Capacity: bidding.Vec{4000, 8 << 30}}
}

// secretHash is the hex SHA-256 the API stores for a secret.
func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func aclToken(accessor, secret, policy, service string) ACLToken {
	return ACLToken{AccessorID: accessor, SecretHash: secretHash(secret), Policy: policy, Service: service, Description: "test " + policy}
}

// sampleLog is a log that exercises every command type.
func sampleLog(t testing.TB) [][]byte {
	var log [][]byte
	add := func(ct CommandType, v any) { log = append(log, mustEncode(t, ct, v)) }
	add(CmdSetSettings, SetSettings{Settings: DefaultSettings()})
	add(CmdUpsertMember, UpsertMember{Member: member("id-1", "n1")})
	add(CmdUpsertMember, UpsertMember{Member: member("id-2", "n2")})
	for _, s := range []bidding.Service{svc("web", bidding.ClassCritical), svc("db", bidding.ClassStandard), svc("batch", bidding.ClassBatch)} {
		add(CmdRegisterService, RegisterService{Service: s})
	}
	add(CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("web", "n1", 1, 500), bid("db", "n2", 1, 700)}})
	add(CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("web", "n1", 1, 600)}}) // replaces
	add(CmdSetBoost, SetBoost{Boost: bidding.Boost{Service: "db", Factor: 2, StartEpoch: 1, TTLEpochs: 2}})
	for e := uint64(1); e <= 4; e++ {
		add(CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: e, Hash: "sha256:x", Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 600}}}})
	}
	add(CmdReportUsage, ReportUsage{Report: UsageReport{Node: "n1", Epoch: 3, Services: []ServiceUsage{{Service: "web", Actual: map[string]int64{"cpu": 550, "memory": 300 << 20}}}}})
	add(CmdReportUsage, ReportUsage{Report: UsageReport{Node: "n2", Epoch: 4, Services: []ServiceUsage{{Service: "db", Actual: map[string]int64{"cpu": 650}}}}})
	add(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{
		"temperature":  {{Time: regT(0), Value: 12.5}, {Time: regT(1), Value: 13}},
		"black_friday": {{Time: regT(0), Value: 0}, {Time: regT(2), Value: 1}},
	}})
	add(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{"temperature": {{Time: regT(1), Value: 14}}}}) // replaces
	add(CmdImportHistory, ImportHistory{History: sampleHistory("web", "n1", 3, 500)})
	add(CmdImportHistory, ImportHistory{History: sampleHistory("db", "n3", 2, 700)})
	add(CmdImportHistory, ImportHistory{History: sampleHistory("web", "n1", 4, 600)}) // replaces
	add(CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("batch", "n1", 5, 100)}})
	add(CmdSubmitBidBatch, SubmitBidBatch{Requests: []SubmitBids{ // the second request is refused, the others applied
		{Bids: []bidding.Bid{bid("batch", "n2", 5, 110)}}, {Bids: []bidding.Bid{bid("nope", "n1", 5, 1)}}, {Bids: []bidding.Bid{bid("db", "n2", 5, 720)}}}})
	add(CmdDeregisterService, DeregisterService{Name: "db"})
	add(CmdRemoveMember, RemoveMember{ID: "id-2"})
	add(CmdACLBootstrap, ACLBootstrap{Token: aclToken("acc-boot", "s-boot", PolicyOperator, "")})
	add(CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("acc-bid", "s-bid", PolicyBid, "web")})
	add(CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("acc-read", "s-read", PolicyRead, "")})
	add(CmdACLTokenDelete, ACLTokenDelete{AccessorID: "acc-read"})
	// Rejected commands still move the index and nothing else.
	add(CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("nope", "n1", 5, 100)}})
	add(CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 2}})
	return log
}

func replay(t fataler, f *FSM, log [][]byte) []error {
	var errs []error
	for i, e := range log {
		errs = append(errs, f.ApplyCommand(uint64(i+1), e))
	}
	return errs
}

func TestReplayIsDeterministic(t *testing.T) {
	log := sampleLog(t)
	a, b := New(), New()
	ea, eb := replay(t, a, log), replay(t, b, log)
	if a.Hash() != b.Hash() {
		t.Fatalf("state hashes differ after the same log: %s vs %s", a.Hash(), b.Hash())
	}
	for i := range ea {
		if (ea[i] == nil) != (eb[i] == nil) {
			t.Fatalf("entry %d: results differ: %v vs %v", i+1, ea[i], eb[i])
		}
	}
	if ea[len(ea)-1] == nil || ea[len(ea)-2] == nil {
		t.Fatalf("invalid commands were accepted: %v", ea[len(ea)-2:])
	}
	if got := a.Index(); got != uint64(len(log)) {
		t.Fatalf("index %d, want %d", got, len(log))
	}
}

func TestSemantics(t *testing.T) {
	f := New()
	errs := replay(t, f, sampleLog(t))
	for i, err := range errs[:len(errs)-2] {
		if err != nil {
			t.Fatalf("entry %d rejected: %v", i+1, err)
		}
	}
	if n := len(f.Services()); n != 2 {
		t.Fatalf("%d services after deregistering db, want 2", n)
	}
	if len(f.Boosts()) != 0 {
		t.Fatalf("boost should have expired (or gone with db): %+v", f.Boosts())
	}
	bids := f.Bids()
	var web []bidding.Bid
	for _, b := range bids {
		if b.Service == "web" {
			web = append(web, b)
		}
		if b.Service == "db" {
			t.Fatalf("db's bid survived its deregistration")
		}
	}
	if len(web) != 1 || web[0].Resources["cpu"].P50 != 600 {
		t.Fatalf("web bids %+v: want the single replacing bid with p50 600", web)
	}
	p, ok := f.LatestPlan()
	if !ok || p.Epoch != 4 || p.Index == 0 {
		t.Fatalf("latest plan %+v", p)
	}
	in := f.SolveInputs()
	if in.Epoch != 5 {
		t.Fatalf("next epoch %d, want 5", in.Epoch)
	}
	for _, b := range in.Bids {
		if b.Service == "web" && b.Resources["cpu"].P50 != 0 {
			t.Fatalf("web's bid from epoch 1 is past bid_ttl at epoch 5 and must fall back to its floor: %+v", b)
		}
	}
}

func TestBidWindowAndRegistry(t *testing.T) {
	f := New()
	replay(t, f, sampleLog(t)[:6])
	cases := []struct {
		name string
		bid  bidding.Bid
		want string
	}{
		{"ok", bid("web", "n1", 1, 10), ""},
		{"unknown service", bid("zzz", "n1", 1, 10), "service"},
		{"unknown node", bid("web", "n9", 1, 10), "node"},
		{"far future", bid("web", "n1", 99, 10), "epoch"},
		{"decreasing", bidding.Bid{Service: "web", Node: "n1", Epoch: 1, Resources: map[string]bidding.Quantiles{"cpu": {P50: 5, P90: 4, P99: 6}}}, "p90"},
		{"unknown resource", bidding.Bid{Service: "web", Node: "n1", Epoch: 1, Resources: map[string]bidding.Quantiles{"gpu": {P50: 1, P90: 1, P99: 1}}}, "gpu"},
		{"negative", bidding.Bid{Service: "web", Node: "n1", Epoch: 1, Resources: map[string]bidding.Quantiles{"cpu": {P50: -1, P90: 1, P99: 1}}}, "p50"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := f.ValidateBids([]bidding.Bid{c.bid})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }
func (m *memSink) Close() error  { return nil }

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	a := New()
	replay(t, a, sampleLog(t))
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	b := New()
	if err := b.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() {
		t.Fatalf("restored state differs")
	}
	// Applying the same further entry to both keeps them equal.
	next := mustEncode(t, CmdRegisterService, RegisterService{Service: svc("late", bidding.ClassBatch)})
	_ = a.ApplyCommand(100, next)
	_ = b.ApplyCommand(100, next)
	if a.Hash() != b.Hash() {
		t.Fatalf("states diverge after restore")
	}
	if err := New().Restore(io.NopCloser(strings.NewReader("{not json"))); err == nil {
		t.Fatal("a corrupt snapshot was restored")
	}
}

func TestUnknownCommands(t *testing.T) {
	f := New()
	if r := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{EnvelopeVersion, 0x80 | 0x55, '{', '}'}}); r != nil {
		t.Fatalf("ignorable unknown command returned %v", r)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("an undecodable entry must stop the FSM (rule 3)")
		}
	}()
	f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: []byte{EnvelopeVersion, 0x55}})
}

// TestNoClockOrRandomness fails the build if fsm reads the clock or random numbers.
func TestNoClockOrRandomness(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := []string{"time." + "Now", "math/" + "rand", "crypto/" + "rand", "time." + "Since", "os." + "Getenv"}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		b, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range banned {
			if bytes.Contains(b, []byte(w)) {
				t.Errorf("%s uses %s: the FSM must not read the clock, randomness or the environment", fn, w)
			}
		}
	}
}

// hashIgnoringIndex hashes the state as if the applied index had not moved.
func hashIgnoringIndex(f *FSM) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := *f.st
	st.Index = 0
	return st.hash()
}

// TestWellFormedInvalidCommandsNeverPanic drives random, decodable but often
// invalid commands (ACL ones included) into two FSMs: no panic, identical
// state, and a rejected command changes nothing but the applied index.
func TestWellFormedInvalidCommandsNeverPanic(t *testing.T) {
	names := []string{"web", "db", "", "bad name", "n1", "n2"}
	rapid.Check(t, func(rt *rapid.T) {
		a, b := New(), New()
		n := rapid.IntRange(1, 40).Draw(rt, "n")
		for i := 0; i < n; i++ {
			var data []byte
			name := rapid.SampledFrom(names).Draw(rt, "name")
			node := rapid.SampledFrom(names).Draw(rt, "node")
			switch rapid.IntRange(0, 15).Draw(rt, "kind") {
			case 0:
				data = mustEncode(rt, CmdRegisterService, RegisterService{Service: bidding.Service{Name: name, Class: bidding.Class(rapid.SampledFrom([]string{"critical", "batch", "x"}).Draw(rt, "class")), Min: bidding.Vec{rapid.Int64Range(-5, 5000).Draw(rt, "min")}}})
			case 1:
				data = mustEncode(rt, CmdDeregisterService, DeregisterService{Name: name})
			case 2:
				p := rapid.Int64Range(-10, 3000).Draw(rt, "p50")
				data = mustEncode(rt, CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{{Service: name, Node: node, Epoch: rapid.Uint64Range(0, 10).Draw(rt, "ep"), Resources: map[string]bidding.Quantiles{"cpu": {P50: p, P90: rapid.Int64Range(-10, 3000).Draw(rt, "p90"), P99: 4000}}}}})
			case 3:
				data = mustEncode(rt, CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: rapid.Uint64Range(0, 10).Draw(rt, "pe")}})
			case 4:
				data = mustEncode(rt, CmdSetBoost, SetBoost{Boost: bidding.Boost{Service: name, Factor: rapid.Float64Range(0, 20).Draw(rt, "f"), TTLEpochs: rapid.Uint64Range(0, 5).Draw(rt, "ttl")}})
			case 5:
				data = mustEncode(rt, CmdClearBoost, ClearBoost{Service: name})
			case 6:
				data = mustEncode(rt, CmdUpsertMember, UpsertMember{Member: Member{ID: name, Name: node, Client: true}})
			case 7:
				data = mustEncode(rt, CmdRemoveMember, RemoveMember{ID: name})
			case 8:
				data = mustEncode(rt, CmdSetSettings, SetSettings{Settings: Settings{EpochMS: rapid.Int64Range(-1, 10).Draw(rt, "ms"), BidTTL: rapid.Uint64Range(0, 3).Draw(rt, "ttl"), PlanHistory: rapid.IntRange(-1, 3).Draw(rt, "h")}})
			case 9, 10:
				tok := ACLToken{AccessorID: rapid.SampledFrom([]string{"a1", "a2", "a3", ""}).Draw(rt, "acc"),
					SecretHash:  rapid.SampledFrom([]string{secretHash("s1"), secretHash("s2"), secretHash("s3"), "zz", ""}).Draw(rt, "hash"),
					Policy:      rapid.SampledFrom([]string{PolicyOperator, PolicyRead, PolicyBid, "root", ""}).Draw(rt, "policy"),
					Service:     rapid.SampledFrom(names).Draw(rt, "scope"),
					CreateIndex: rapid.Uint64Range(0, 5).Draw(rt, "ci")}
				if rapid.Bool().Draw(rt, "bootstrap") {
					data = mustEncode(rt, CmdACLBootstrap, ACLBootstrap{Token: tok})
				} else {
					data = mustEncode(rt, CmdACLTokenCreate, ACLTokenCreate{Token: tok})
				}
			case 12:
				data = mustEncode(rt, CmdReportUsage, ReportUsage{Report: UsageReport{Node: node, Epoch: rapid.Uint64Range(0, 10).Draw(rt, "ue"),
					Services: []ServiceUsage{{Service: name, Actual: map[string]int64{rapid.SampledFrom([]string{"cpu", "memory", "gpu"}).Draw(rt, "res"): rapid.Int64Range(-5, 5000).Draw(rt, "actual")}}}}})
			case 13:
				set := map[string][]RegressorPoint{}
				for j := rapid.IntRange(0, 3).Draw(rt, "rn"); j > 0; j-- {
					var pts []RegressorPoint
					for k := rapid.IntRange(0, 4).Draw(rt, "rp"); k > 0; k-- {
						pts = append(pts, RegressorPoint{Time: regT(rapid.IntRange(-1, 8).Draw(rt, "rt")).Add(time.Duration(rapid.SampledFrom([]int64{0, 1, -1 << 62}).Draw(rt, "far"))),
							Value: rapid.SampledFrom([]float64{0, 1.5, -3, 2e15}).Draw(rt, "rv")})
					}
					set[rapid.SampledFrom(names).Draw(rt, "rname")] = pts
				}
				data = mustEncode(rt, CmdSetRegressors, SetRegressors{Regressors: set})
			case 14:
				h := UsageHistory{Service: name, Node: node, IntervalMS: rapid.SampledFrom([]int64{0, 999, 1000, 300000, 3600001}).Draw(rt, "hiv"), Points: map[string][]HistoryPoint{}}
				for j := rapid.IntRange(0, 2).Draw(rt, "hn"); j > 0; j-- {
					var pts []HistoryPoint
					for k := rapid.IntRange(0, 4).Draw(rt, "hp"); k > 0; k-- {
						pts = append(pts, HistoryPoint{T: regT(rapid.IntRange(-1, 8).Draw(rt, "ht")), V: rapid.SampledFrom([]float64{0, 800, -1, 1e17}).Draw(rt, "hv")})
					}
					h.Points[rapid.SampledFrom([]string{"cpu", "memory", "gpu"}).Draw(rt, "hres")] = pts
				}
				data = mustEncode(rt, CmdImportHistory, ImportHistory{History: h})
			case 15:
				var reqs []SubmitBids
				for j := rapid.IntRange(0, 3).Draw(rt, "breqs"); j > 0; j-- {
					reqs = append(reqs, SubmitBids{Bids: []bidding.Bid{{Service: rapid.SampledFrom(names).Draw(rt, "bsvc"), Node: rapid.SampledFrom(names).Draw(rt, "bnode"),
						Epoch: rapid.Uint64Range(0, 10).Draw(rt, "bep"), Resources: map[string]bidding.Quantiles{"cpu": {P50: rapid.Int64Range(-10, 3000).Draw(rt, "bp50"), P90: 3000, P99: 4000}}}}})
				}
				data = mustEncode(rt, CmdSubmitBidBatch, SubmitBidBatch{Requests: reqs})
			case 11:
				data = mustEncode(rt, CmdACLTokenDelete, ACLTokenDelete{AccessorID: rapid.SampledFrom([]string{"a1", "a2", "a3", ""}).Draw(rt, "acc")})
			}
			before := hashIgnoringIndex(a)
			if err := a.ApplyCommand(uint64(i+1), data); err != nil && hashIgnoringIndex(a) != before {
				rt.Fatalf("rejected command changed more than the applied index: %v", err)
			}
			_ = b.ApplyCommand(uint64(i+1), data)
		}
		if a.Hash() != b.Hash() {
			rt.Fatalf("replicas diverged")
		}
		_ = a.SolveInputs()
	})
}

func FuzzDecode(f *testing.F) {
	for _, e := range sampleLog(f) {
		f.Add(e)
	}
	f.Add([]byte{})
	f.Add([]byte{EnvelopeVersion})
	f.Add([]byte{EnvelopeJSON, byte(CmdSubmitBids), '{', '"', 'b', '"', ':', 'n', 'u', 'l', 'l', '}'})
	f.Add(append([]byte{EnvelopeJSON, byte(CmdReportUsage)}, `{"report":{"node":"n1","epoch":1,"services":null}}`...))
	f.Add(append([]byte{EnvelopeJSON, byte(CmdReportUsage)}, `{"report":{"node":"n1","epoch":1,"services":[{"service":"web","actual":{"cpu":-1}}]}}`...))
	f.Add(append([]byte{EnvelopeJSON, byte(CmdSetRegressors)}, `{"regressors":{"temp":[{"time":"2026-12-01T10:00:00Z","value":1}],"gone":null}}`...))
	f.Add(append([]byte{EnvelopeJSON, byte(CmdSetRegressors)}, `{"regressors":{"temp":[{"time":"0001-01-01T00:00:00Z","value":1e300}]}}`...))
	f.Add(append([]byte{EnvelopeJSON, byte(CmdImportHistory)}, `{"history":{"service":"web","node":"n1","interval_ms":1000,"points":{"cpu":[{"t":"2026-12-01T10:00:00Z","v":1},{"t":"2026-12-01T10:00:00Z","v":-1}]}}}`...))
	f.Add(append([]byte{EnvelopeJSON, byte(CmdImportHistory)}, `{"history":{"service":"web","node":"n1","interval_ms":0,"points":{"gpu":null}}}`...))
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, v, err := Decode(data)
		if err != nil {
			return
		}
		// Anything that decodes must apply without panicking and re-encode.
		fsm := New()
		_ = fsm.ApplyCommand(1, data)
		if _, err := Encode(ct, v); err != nil {
			t.Fatalf("decoded %s does not re-encode: %v", ct, err)
		}
	})
}

func TestACLTokens(t *testing.T) {
	f := New()
	idx := uint64(0)
	apply := func(ct CommandType, v any) error {
		idx++
		return f.ApplyCommand(idx, mustEncode(t, ct, v))
	}
	// Before bootstrap: no tokens, and the state hash is that of an FSM
	// that never heard of ACLs (the ACL fields are omitted while empty).
	if f.ACLBootstrapIndex() != 0 || len(f.ACLTokens()) != 0 {
		t.Fatal("fresh FSM has ACL state")
	}
	if err := apply(CmdACLBootstrap, ACLBootstrap{Token: aclToken("boot", "s-boot", PolicyOperator, "")}); err != nil {
		t.Fatal(err)
	}
	if f.ACLBootstrapIndex() != 1 {
		t.Fatalf("bootstrap index %d, want 1", f.ACLBootstrapIndex())
	}
	if err := apply(CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("bid-web", "s-web", PolicyBid, "web")}); err != nil {
		t.Fatal(err)
	}
	invalid := []struct {
		name string
		ct   CommandType
		v    any
		want string
	}{
		{"second bootstrap", CmdACLBootstrap, ACLBootstrap{Token: aclToken("boot2", "s-boot2", PolicyOperator, "")}, "no longer allowed"},
		{"unknown policy", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("x", "s-x", "root", "")}, "policy"},
		{"bid without service", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("x", "s-x", PolicyBid, "")}, "service"},
		{"bid with a bad service name", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("x", "s-x", PolicyBid, "bad name")}, "service"},
		{"read with a service", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("x", "s-x", PolicyRead, "web")}, "service"},
		{"duplicate accessor", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("bid-web", "s-other", PolicyRead, "")}, "already exists"},
		{"duplicate secret", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("y", "s-web", PolicyRead, "")}, "secret_hash"},
		{"empty accessor", CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("", "s-z", PolicyRead, "")}, "accessor_id"},
		{"secret in clear instead of a hash", CmdACLTokenCreate, ACLTokenCreate{Token: ACLToken{AccessorID: "z", SecretHash: "hunter2", Policy: PolicyRead}}, "secret_hash"},
		{"uppercase hash", CmdACLTokenCreate, ACLTokenCreate{Token: ACLToken{AccessorID: "z", SecretHash: strings.ToUpper(secretHash("q")), Policy: PolicyRead}}, "secret_hash"},
		{"long description", CmdACLTokenCreate, ACLTokenCreate{Token: ACLToken{AccessorID: "z", SecretHash: secretHash("q"), Policy: PolicyRead, Description: strings.Repeat("d", MaxACLDescription+1)}}, "description"},
		{"delete unknown", CmdACLTokenDelete, ACLTokenDelete{AccessorID: "ghost"}, "does not exist"},
		{"delete the last operator", CmdACLTokenDelete, ACLTokenDelete{AccessorID: "boot"}, "last operator"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			before := hashIgnoringIndex(f)
			err := apply(c.ct, c.v)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
			if hashIgnoringIndex(f) != before {
				t.Fatal("a rejected command changed the state")
			}
		})
	}
	toks := f.ACLTokens()
	if len(toks) != 2 || toks[0].AccessorID != "bid-web" || toks[1].AccessorID != "boot" || toks[0].CreateIndex != 2 {
		t.Fatalf("tokens %+v", toks)
	}
	// Resolution by secret hash.
	sum := sha256.Sum256([]byte("s-web"))
	if tok, ok := f.ResolveACLToken(sum[:]); !ok || tok.AccessorID != "bid-web" || tok.Service != "web" {
		t.Fatalf("resolve s-web: %+v %v", tok, ok)
	}
	sum = sha256.Sum256([]byte("s-nope"))
	if _, ok := f.ResolveACLToken(sum[:]); ok {
		t.Fatal("an unknown secret resolved")
	}
	if _, ok := f.ResolveACLToken(nil); ok {
		t.Fatal("an empty hash resolved")
	}
	// A second operator makes the first deletable.
	if err := apply(CmdACLTokenCreate, ACLTokenCreate{Token: aclToken("op2", "s-op2", PolicyOperator, "")}); err != nil {
		t.Fatal(err)
	}
	if err := apply(CmdACLTokenDelete, ACLTokenDelete{AccessorID: "boot"}); err != nil {
		t.Fatal(err)
	}
	sum = sha256.Sum256([]byte("s-boot"))
	if _, ok := f.ResolveACLToken(sum[:]); ok {
		t.Fatal("a deleted token still resolves")
	}
	// Snapshot round trip carries tokens and the bootstrap marker, and the
	// snapshot bytes hold no secret.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s-boot", "s-web", "s-op2"} {
		if bytes.Contains(sink.Bytes(), []byte(`"`+secret+`"`)) {
			t.Fatalf("snapshot holds the secret %q", secret)
		}
	}
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != f.Hash() || g.ACLBootstrapIndex() != 1 || len(g.ACLTokens()) != 2 {
		t.Fatalf("restored ACL state differs: %+v", g.ACLTokens())
	}
	if err := g.ApplyCommand(idx+1, mustEncode(t, CmdACLBootstrap, ACLBootstrap{Token: aclToken("again", "s-again", PolicyOperator, "")})); err == nil {
		t.Fatal("bootstrap allowed again after restore")
	}
}

// TestNoACLStateKeepsOldEncoding: a state that never used ACLs encodes
// without ACL fields, so snapshots and hashes of existing clusters stay as they were.
func TestNoACLStateKeepsOldEncoding(t *testing.T) {
	f := New()
	replay(t, f, sampleLog(t)[:5])
	snap, _ := f.Snapshot()
	var sink memSink
	_ = snap.Persist(&sink)
	if bytes.Contains(sink.Bytes(), []byte("acl")) {
		t.Fatalf("ACL fields in a state without ACLs: %s", sink.Bytes())
	}
}

package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// goldenCommands is one payload of every command type, with optional
// fields both set and omitted, a time in a zone other than UTC and maps of
// structs (the shapes a decoder most easily gets wrong).
func goldenCommands() map[CommandType]any {
	cet := time.FixedZone("CET", 3600)
	web := svc("web", bidding.ClassCritical)
	web.Weight = 2.5
	web.Forecast = &bidding.ForecastSpec{Model: "ets", Horizon: 12, Regressors: []string{"temperature"}}
	tok := aclToken("acc-1", "s-1", PolicyBid, "web")
	plan := bidding.Plan{Epoch: 7, InputIndex: 41, Created: time.Date(2026, 12, 1, 11, 0, 0, 123456789, cet), Hash: "sha256:abc",
		Allocations: []bidding.Allocation{{Service: "web", Node: "n1", CPU: 600, Memory: 256 << 20}, {Service: "db", Node: "n2", CPU: 300}},
		Nodes:       []bidding.NodePlan{{Node: "n1", Capacity: bidding.Vec{4000, 8 << 30, 0, 0}, ShadowPrice: map[string]float64{"cpu": 0.25}}},
		Stats:       bidding.Stats{SolveMS: 1.5, Bids: 2, Services: 2, FairnessJain: 0.97, Objective: 1234.5, Iterations: 9},
		Problems:    []string{"db: min above n2's capacity"}}
	// The plan before it: web unchanged, db new, cache gone.
	base := bidding.Plan{Epoch: 6, Index: 40, Hash: "sha256:def",
		Allocations: []bidding.Allocation{{Service: "cache", Node: "n2", CPU: 100}, {Service: "web", Node: "n1", CPU: 600, Memory: 256 << 20}}}
	return map[CommandType]any{
		CmdRegisterService:   RegisterService{Service: web},
		CmdDeregisterService: DeregisterService{Name: "db"},
		CmdSubmitBids: SubmitBids{Bids: []bidding.Bid{
			{Service: "web", Node: "n1", Epoch: 7, Resources: map[string]bidding.Quantiles{
				"cpu": {P50: 500, P90: 750, P99: 1000, Min: 100, Max: 2000}, "memory": {P50: 256 << 20, P90: 384 << 20, P99: 512 << 20}},
				ForecastError: map[string]bidding.ForecastError{"cpu": {MASE: 0.8, CoverageP90: 0.9}}},
			bid("db", "n2", 7, 300),
		}},
		CmdCommitPlan:      CommitPlan{Plan: plan},
		CmdCommitPlanDelta: NewCommitPlanDelta(&plan, &base),
		CmdSetBoost:        SetBoost{Boost: bidding.Boost{Service: "web", Factor: 2, StartEpoch: 7, TTLEpochs: 3, Reason: "sla"}},
		CmdClearBoost:      ClearBoost{Service: "web"},
		CmdUpsertMember:    UpsertMember{Member: Member{ID: "id-1", Name: "n1", Client: true, RaftAddr: "10.0.0.1:7482", Version: "0.9", Status: "alive", Capacity: bidding.Vec{4000, 8 << 30, 100 << 20, 1 << 30}}},
		CmdRemoveMember:    RemoveMember{ID: "id-2"},
		CmdSetSettings:     SetSettings{Settings: DefaultSettings()},
		CmdACLBootstrap:    ACLBootstrap{Token: aclToken("boot", "s-boot", PolicyOperator, "")},
		CmdACLTokenCreate:  ACLTokenCreate{Token: tok},
		CmdACLTokenDelete:  ACLTokenDelete{AccessorID: "acc-1"},
		CmdReportUsage: ReportUsage{Report: UsageReport{Node: "n1", Epoch: 6, Services: []ServiceUsage{
			{Service: "web", Actual: map[string]int64{"cpu": 550, "memory": 300 << 20}}, {Service: "db", Actual: map[string]int64{"cpu": 0}}}}},
		CmdSetRegressors: SetRegressors{Regressors: map[string][]RegressorPoint{
			"temperature": {{Time: regT(0).In(cet), Value: 12.5}, {Time: regT(1), Value: -3}}, "gone": nil}},
		CmdImportHistory: ImportHistory{History: sampleHistory("web", "n1", 3, 500)},
		CmdSubmitBidBatch: SubmitBidBatch{Requests: []SubmitBids{
			{Bids: []bidding.Bid{bid("web", "n1", 7, 500), bid("db", "n1", 7, 300)}},
			{Bids: []bidding.Bid{{Service: "web", Node: "n2", Epoch: 8, Resources: map[string]bidding.Quantiles{"cpu": {P50: 400, P90: 600, P99: 900, Max: 2000}},
				ForecastError: map[string]bidding.ForecastError{"cpu": {MASE: 1.2, CoverageP90: 0.85}}}}},
		}},
		CmdStateCheck: StateCheck{Index: 42, Hash: strings.Repeat("ab", 32), Leader: "n1"},
	}
}

// jsonOf is the canonical JSON of a value (how the state hash sees it).
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const regenerate = "if the change is deliberate, add a new envelope version or a migration, " +
	"then regenerate with: go test ./fsm -run Golden -update"

// TestCommandGolden pins the bytes of every command type in the current
// encoding (testdata/commands/NAME.msgpack) and in version 1
// (NAME.v1.json): the golden bytes decode, re-encode to themselves, equal
// the encoding of the payload built here, and the version 1 entry decodes
// to the same value.
func TestCommandGolden(t *testing.T) {
	cmds := goldenCommands()
	if len(cmds) != len(commands) {
		t.Fatalf("%d golden payloads for %d command types: add one for the new type", len(cmds), len(commands))
	}
	dir := filepath.Join("testdata", "commands")
	for ct, payload := range cmds {
		t.Run(ct.String(), func(t *testing.T) {
			cur, v1 := mustEncode(t, ct, payload), encodeJSON(t, ct, payload)
			files := map[string][]byte{filepath.Join(dir, ct.String()+".msgpack"): cur, filepath.Join(dir, ct.String()+".v1.json"): v1}
			if *update {
				_ = os.MkdirAll(dir, 0o755)
				for fn, b := range files {
					if err := os.WriteFile(fn, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			for fn, want := range files {
				golden, err := os.ReadFile(fn)
				if err != nil {
					t.Fatalf("%v (%s)", err, regenerate)
				}
				if fn == filepath.Join(dir, ct.String()+".msgpack") && !bytes.Equal(golden, want) {
					t.Fatalf("the encoding of %s changed (a renamed field, a changed tag or codec option?):\n got % x\nwant % x\n%s", ct, want, golden, regenerate)
				}
				got, v, err := Decode(golden)
				if err != nil || got != ct {
					t.Fatalf("%s: decode: %v %v", fn, got, err)
				}
				if g, w := jsonOf(t, v), jsonOf(t, payload); g != w {
					t.Fatalf("%s decodes to\n%s\nwant\n%s", fn, g, w)
				}
				if again := mustEncode(t, ct, v); !bytes.Equal(again, cur) {
					t.Fatalf("%s: decode and re-encode gives\n% x\nwant\n% x", fn, again, cur)
				}
			}
		})
	}
}

// TestGoMsgpackMapOfStructs documents why msgpack.go exists: go-msgpack's
// reflective decoder shares one scratch value among a map's struct values.
// It logs the upstream behaviour (no failure if fixed) and checks ours.
func TestGoMsgpackMapOfStructs(t *testing.T) {
	in := map[string]bidding.Bid{
		"a": {Service: "a", Resources: map[string]bidding.Quantiles{"cpu": {P50: 1, Min: 1}}},
		"b": {Service: "b", Resources: map[string]bidding.Quantiles{"memory": {P50: 2}}},
	}
	var b []byte
	if err := codec.NewEncoderBytes(&b, mp).Encode(in); err != nil {
		t.Fatal(err)
	}
	var theirs map[string]bidding.Bid
	_ = codec.NewDecoderBytes(b, mp).Decode(&theirs)
	if jsonOf(t, theirs) != jsonOf(t, in) {
		t.Logf("go-msgpack decodes\n%s\nfor\n%s", jsonOf(t, theirs), jsonOf(t, in))
	}
	var ours map[string]bidding.Bid
	if err := decodeInto(b, compileDec(reflectTypeOf(ours)), &ours); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, ours) != jsonOf(t, in) {
		t.Fatalf("decoded\n%s\nwant\n%s", jsonOf(t, ours), jsonOf(t, in))
	}
}

// TestDecodeRefuses: malformed version 2 payloads are errors naming the
// problem (Apply turns them into a panic), never a silent misread.
func TestDecodeRefuses(t *testing.T) {
	good := mustEncode(t, CmdDeregisterService, DeregisterService{Name: "db"})
	nan := mustEncode(t, CmdSetBoost, SetBoost{Boost: bidding.Boost{Service: "web", Factor: 1.5}})
	i := bytes.Index(nan, []byte{0xcb, 0x3f, 0xf8}) // factor 1.5 as float64
	nan = append(append(append([]byte{}, nan[:i+1]...), 0x7f, 0xf8, 0, 0, 0, 0, 0, 1), nan[i+9:]...)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"unknown version", append([]byte{3}, good[1:]...), "version 3"},
		{"unknown type", []byte{EnvelopeMsgpack, 0x55, 0x80}, "unknown command type 85"},
		{"truncated", good[:len(good)-1], "end of data"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "1 bytes after"},
		{"empty payload", good[:2], "empty payload"},
		{"wrong type", []byte{EnvelopeMsgpack, byte(CmdDeregisterService), 0x81, 0xa4, 'n', 'a', 'm', 'e', 0x05}, "where a str was expected"},
		{"NaN", nan, "not a finite number"},
		{"huge length", []byte{EnvelopeMsgpack, byte(CmdSubmitBids), 0x81, 0xa4, 'b', 'i', 'd', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}, "end of data"},
		{"bad JSON", []byte{EnvelopeJSON, byte(CmdDeregisterService), '{'}, "JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
	if _, err := Encode(CmdSetBoost, SetBoost{Boost: bidding.Boost{Service: "web", Factor: nanValue()}}); err == nil {
		t.Fatal("a NaN was encoded")
	}
	if _, err := Encode(CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 1, Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}); err == nil {
		t.Fatal("a time JSON cannot write was encoded")
	}
}

// FuzzDecodeCommand: any bytes, in either envelope version, either fail to
// decode or decode to a value that re-encodes, decodes to the same JSON,
// applies without panicking and leaves a state that hashes and snapshots.
func FuzzDecodeCommand(f *testing.F) {
	for _, e := range sampleLog(f) {
		f.Add(e)
		if ct, v, err := Decode(e); err == nil {
			f.Add(encodeJSON(f, ct, v))
		}
	}
	f.Add([]byte{EnvelopeMsgpack, byte(CmdSubmitBids), 0x81, 0xa4, 'b', 'i', 'd', 's', 0xc0})
	f.Add([]byte{EnvelopeMsgpack, byte(CmdCommitPlan), 0x81, 0xa4, 'p', 'l', 'a', 'n', 0x80})
	f.Add(mustEncode(f, CmdCommitPlanDelta, goldenCommands()[CmdCommitPlanDelta]))
	f.Fuzz(func(t *testing.T, data []byte) {
		ct, v, err := Decode(data)
		if err != nil {
			return
		}
		enc, err := Encode(ct, v)
		if err != nil {
			t.Fatalf("decoded %s does not re-encode: %v", ct, err)
		}
		ct2, v2, err := Decode(enc)
		if err != nil || ct2 != ct || jsonOf2(v) != jsonOf2(v2) {
			t.Fatalf("%s: re-encoded value decodes differently (%v)", ct, err)
		}
		fsm := New()
		_ = fsm.ApplyCommand(1, data)
		_ = fsm.Hash()
		_ = mustPersist(t, fsm)
	})
}

func jsonOf2(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint("unencodable: ", err)
	}
	return string(b)
}

func mustPersist(t fataler, f *FSM) []byte {
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

// TestSnapshotFormats: a version 1 (JSON) and a version 2 snapshot of the
// same state restore to the same state hash; a corrupt, truncated or
// unknown-version snapshot is an error naming what is wrong and leaves the
// FSM as it was.
func TestSnapshotFormats(t *testing.T) {
	a := New()
	replay(t, a, sampleLog(t))
	v2, v1 := mustPersist(t, a), snapshotV1JSON(t, a)
	if !bytes.HasPrefix(v2, []byte(snapshotMagic+"\x03")) {
		t.Fatalf("snapshot starts % x", v2[:12])
	}
	for name, b := range map[string][]byte{"v1 JSON": v1, "v2 msgpack": v2} {
		g := New()
		if err := g.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g.Hash() != a.Hash() {
			t.Fatalf("%s: restored state differs", name)
		}
		if !bytes.Equal(mustPersist(t, g), v2) {
			t.Fatalf("%s: restored state snapshots to other bytes", name)
		}
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"garbage header", []byte("PK\x03\x04 zip"), "unrecognised header"},
		{"unknown version", append([]byte(snapshotMagic+"\x07"), v2[len(snapshotMagic)+1:]...), "format version 7"},
		{"truncated", v2[:len(v2)/2], "end of data"},
		{"trailing bytes", append(append([]byte{}, v2...), 0xc0), "bytes after"},
		{"corrupt byte", corrupt(v2), "decoding version 3"},
		{"corrupt JSON", v1[:len(v1)/2], "version 1 (JSON)"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			g := New()
			replay(t, g, sampleLog(t)[:3])
			before := g.Hash()
			err := g.Restore(io.NopCloser(bytes.NewReader(c.data)))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "fsm snapshot: ") {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
			if g.Hash() != before {
				t.Fatal("a failed restore changed the state")
			}
		})
	}
}

// corrupt replaces the first field name's type byte with a reserved one.
func corrupt(b []byte) []byte {
	c := append([]byte{}, b...)
	c[len(snapshotMagic)+2] = 0xc1 // never used in msgpack
	return c
}

// TestSnapshotIsolation: a snapshot taken half-way through a log persists
// the state of that moment, however much is applied before Persist runs
// (every apply path replaces values instead of changing shared ones).
func TestSnapshotIsolation(t *testing.T) {
	log := sampleLog(t)
	for cut := 1; cut < len(log); cut++ {
		f := New()
		replay(t, f, log[:cut])
		want := f.Hash()
		snap, err := f.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range log[cut:] { // the rest, then all of it again
			_ = f.ApplyCommand(uint64(cut+i+1), e)
		}
		for i, e := range log {
			_ = f.ApplyCommand(uint64(len(log)+i+1), e)
		}
		var sink memSink
		if err := snap.Persist(&sink); err != nil {
			t.Fatal(err)
		}
		g := New()
		if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
			t.Fatal(err)
		}
		if g.Hash() != want {
			t.Fatalf("snapshot after %d entries changed by later applies", cut)
		}
	}
}

// TestPersistWhileApplying: Persist runs with no lock while applies go on
// (run under -race: a value changed in place would be a reported race).
func TestPersistWhileApplying(t *testing.T) {
	log := sampleLog(t)
	f := New()
	replay(t, f, log[:len(log)/2])
	want := f.Hash()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() {
		var sink memSink
		if err := snap.Persist(&sink); err != nil {
			panic(err)
		}
		done <- sink.Bytes()
	}()
	for round := 0; round < 3; round++ {
		for i, e := range log {
			_ = f.ApplyCommand(uint64(len(log)*(round+1)+i), e)
		}
	}
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(<-done))); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != want {
		t.Fatal("the persisted snapshot is not the state at Snapshot()")
	}
}

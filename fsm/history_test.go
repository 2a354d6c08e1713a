package fsm

import (
	"bytes"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sampleHistory is n 5-minute cpu points (and memory) at level v.
func sampleHistory(service, node string, n int, v float64) UsageHistory {
	h := UsageHistory{Service: service, Node: node, IntervalMS: 300000, Points: map[string][]HistoryPoint{}}
	for i := 0; i < n; i++ {
		h.Points["cpu"] = append(h.Points["cpu"], HistoryPoint{T: regT(i - n), V: v + float64(i%2)})
		h.Points["memory"] = append(h.Points["memory"], HistoryPoint{T: regT(i - n), V: 256 << 20})
	}
	return h
}

// TestImportHistory: an import is stored per (service, node) with times in
// UTC, a newer one replaces it, it goes with its service, and an invalid
// one is refused naming the field, changing nothing but the index.
func TestImportHistory(t *testing.T) {
	f, apply := usageFSM(t, 10)
	h := sampleHistory("web", "n1", 3, 500)
	h.Points["cpu"][0].T = h.Points["cpu"][0].T.In(time.FixedZone("CET", 3600))
	if err := apply(CmdImportHistory, ImportHistory{History: h}); err != nil {
		t.Fatal(err)
	}
	// The node need not have joined yet.
	if err := apply(CmdImportHistory, ImportHistory{History: sampleHistory("web", "n-new", 2, 100)}); err != nil {
		t.Fatal(err)
	}
	got, ok := f.History("web", "n1")
	if !ok || got.IntervalMS != 300000 || len(got.Points["cpu"]) != 3 || got.Points["cpu"][0].T.Location() != time.UTC || got.Points["cpu"][2].V != 500 {
		t.Fatalf("stored %+v", got)
	}
	if _, ok := f.History("web", "n2"); ok {
		t.Fatal("a history for a placement never imported")
	}
	got.Points["cpu"][0].V = -5 // a copy
	if again, _ := f.History("web", "n1"); again.Points["cpu"][0].V == -5 {
		t.Fatal("History returned the stored slice")
	}
	// A newer import replaces the whole history, resources included.
	if err := apply(CmdImportHistory, ImportHistory{History: UsageHistory{Service: "web", Node: "n1", IntervalMS: 60000,
		Points: map[string][]HistoryPoint{"net": {{T: regT(0), V: 1e6}}}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.History("web", "n1"); got.IntervalMS != 60000 || len(got.Points) != 1 || len(got.Points["net"]) != 1 {
		t.Fatalf("after a newer import %+v", got)
	}

	long := make([]HistoryPoint, MaxHistoryPoints+1)
	for i := range long {
		long[i] = HistoryPoint{T: regT(i), V: 1}
	}
	with := func(mod func(h *UsageHistory)) UsageHistory {
		h := sampleHistory("web", "n1", 3, 500)
		mod(&h)
		return h
	}
	invalid := []struct {
		name string
		h    UsageHistory
		want string
	}{
		{"unregistered service", with(func(h *UsageHistory) { h.Service = "ghost" }), `service: "ghost" is not registered`},
		{"bad service name", with(func(h *UsageHistory) { h.Service = "a b" }), "service:"},
		{"bad node name", with(func(h *UsageHistory) { h.Node = "" }), "node: must not be empty"},
		{"interval too short", with(func(h *UsageHistory) { h.IntervalMS = 999 }), "interval_ms: 999"},
		{"interval too long", with(func(h *UsageHistory) { h.IntervalMS = 3600001 }), "interval_ms"},
		{"no points", with(func(h *UsageHistory) { h.Points = nil }), "points: empty"},
		{"unknown resource", with(func(h *UsageHistory) { h.Points["gpu"] = h.Points["cpu"] }), "points.gpu: unknown resource"},
		{"empty resource", with(func(h *UsageHistory) { h.Points["io"] = nil }), "points.io: empty"},
		{"too many", with(func(h *UsageHistory) { h.Points["cpu"] = long }), "points.cpu: 8065 points, at most 8064"},
		{"negative", with(func(h *UsageHistory) { h.Points["cpu"][1].V = -1 }), "points.cpu[1].v"},
		{"too large", with(func(h *UsageHistory) { h.Points["cpu"][2].V = 1e17 }), "points.cpu[2].v"},
		{"duplicate time", with(func(h *UsageHistory) { h.Points["memory"][1].T = h.Points["memory"][0].T }), "points.memory[1].t"},
		{"decreasing", with(func(h *UsageHistory) { h.Points["cpu"][2].T = regT(-100) }), "points.cpu[2].t"},
		{"zero time", with(func(h *UsageHistory) { h.Points["cpu"][0].T = time.Time{} }), "points.cpu[0].t"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			before := hashIgnoringIndex(f)
			err := apply(CmdImportHistory, ImportHistory{History: tc.h})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if hashIgnoringIndex(f) != before {
				t.Fatal("a refused import changed the state")
			}
			if f.ValidateHistory(tc.h) == nil {
				t.Fatal("ValidateHistory accepted what Apply refused")
			}
		})
	}
	// Non-finite values cannot be encoded into a command; the check is for the API.
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		if err := f.ValidateHistory(with(func(h *UsageHistory) { h.Points["cpu"][0].V = v })); err == nil || !strings.Contains(err.Error(), "points.cpu[0].v") {
			t.Fatalf("%v: %v", v, err)
		}
	}
	// Deregistering the service drops its histories.
	if err := apply(CmdDeregisterService, DeregisterService{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.History("web", "n1"); ok {
		t.Fatal("the history outlived its service")
	}
	if bytes.Contains(mustSnapshot(t, f), []byte(`"history"`)) {
		t.Fatal("an emptied history map is still encoded")
	}
}

// TestHistorySnapshot: imports survive a snapshot, and a snapshot written
// before imports existed (no "history" field) still restores to the same
// state as replaying its log.
func TestHistorySnapshot(t *testing.T) {
	f := New()
	replay(t, f, sampleLog(t))
	if _, ok := f.History("web", "n1"); !ok {
		t.Fatal("sampleLog's import is missing")
	}
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(mustSnapshot(t, f)))); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != f.Hash() {
		t.Fatal("hash differs after restore")
	}
	if h, _ := g.History("web", "n1"); len(h.Points["cpu"]) != 4 || h.Points["cpu"][3].V != 601 {
		t.Fatalf("restored %+v, want the replacing import (4 points)", h)
	}

	// An old snapshot: the state of sampleLog without its imports, as a
	// build from before imports wrote it (testdata/snapshot-before-history.json,
	// written with -update). It restores, holds no history, snapshots to the
	// same bytes (the field is omitted while empty), and takes imports.
	golden := filepath.Join("testdata", "snapshot-before-history.json")
	if *update {
		var old [][]byte
		for _, e := range sampleLog(t) {
			if ct, _, _ := Decode(e); ct != CmdImportHistory {
				old = append(old, e)
			}
		}
		want := New()
		replay(t, want, old)
		if err := os.WriteFile(golden, snapshotV1JSON(t, want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"history"`)) {
		t.Fatal("the old snapshot has a history field")
	}
	restore := func() *FSM {
		h := New()
		if err := h.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
			t.Fatal(err)
		}
		return h
	}
	h, h2 := restore(), restore()
	if !bytes.Equal(snapshotV1JSON(t, h), b) {
		t.Fatal("an old snapshot does not round-trip to its own bytes (in the JSON format it was written in)")
	}
	if _, ok := h.History("web", "n1"); ok || len(h.Services()) == 0 {
		t.Fatalf("restored old snapshot: services %d, history %v", len(h.Services()), ok)
	}
	imp := mustEncode(t, CmdImportHistory, ImportHistory{History: sampleHistory("web", "n1", 2, 5)})
	for _, r := range []*FSM{h, h2} {
		if err := r.ApplyCommand(r.Index()+1, imp); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := h.History("web", "n1"); !ok || h.Hash() != h2.Hash() {
		t.Fatal("an import on a restored old snapshot is missing or diverges")
	}
}

// TestImportHistoryGolden pins the command's version 1 (JSON) log
// encoding, which entries written before msgpack still use: the golden
// payload decodes, re-encodes to the same bytes, and equals the encoding
// of the command built here. The current encoding of every command is
// pinned by TestCommandGolden.
func TestImportHistoryGolden(t *testing.T) {
	h := UsageHistory{Service: "web", Node: "node-1", IntervalMS: 300000, Points: map[string][]HistoryPoint{
		"memory": {{T: regT(0), V: 536870912}, {T: regT(1), V: 541065216}},
		"cpu":    {{T: regT(0), V: 812.5}, {T: regT(1), V: 790}},
	}}
	enc := encodeJSON(t, CmdImportHistory, ImportHistory{History: h})
	if enc[0] != EnvelopeJSON || enc[1] != 15 {
		t.Fatalf("envelope % x: want version 1, type 15", enc[:2])
	}
	golden := filepath.Join("testdata", "import-history.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(enc[2:], '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.TrimSuffix(b, []byte("\n"))
	if !bytes.Equal(payload, enc[2:]) {
		t.Fatalf("encoding changed:\n got %s\nwant %s", enc[2:], payload)
	}
	ct, v, err := Decode(append([]byte{EnvelopeJSON, byte(CmdImportHistory)}, payload...))
	if err != nil || ct != CmdImportHistory {
		t.Fatalf("decode: %v %v", ct, err)
	}
	again := encodeJSON(t, ct, v)
	if !bytes.Equal(again[2:], payload) {
		t.Fatalf("decode and re-encode changed the bytes:\n got %s\nwant %s", again[2:], payload)
	}
	if ct.String() != "import-history" {
		t.Fatalf("name %q", ct)
	}
	if err := ValidateUsageHistory(&v.(*ImportHistory).History); err != nil {
		t.Fatal(err)
	}
}

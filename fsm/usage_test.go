package fsm

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func usageFSM(t *testing.T, history int) (*FSM, func(CommandType, any) error) {
	t.Helper()
	f := New()
	var idx uint64
	apply := func(ct CommandType, v any) error { idx++; return f.ApplyCommand(idx, mustEncode(t, ct, v)) }
	st := DefaultSettings()
	st.PlanHistory = history
	for _, c := range []struct {
		ct CommandType
		v  any
	}{
		{CmdSetSettings, SetSettings{Settings: st}},
		{CmdUpsertMember, UpsertMember{Member: member("id-1", "n1")}},
		{CmdUpsertMember, UpsertMember{Member: Member{ID: "id-s", Name: "s1", Server: true}}},
		{CmdRegisterService, RegisterService{Service: svc("web", bidding.ClassCritical)}},
		{CmdRegisterService, RegisterService{Service: svc("db", bidding.ClassStandard)}},
		{CmdSubmitBids, SubmitBids{Bids: []bidding.Bid{bid("web", "n1", 1, 500), bid("web", "n1", 2, 800)}}},
		{CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 1}}},
		{CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: 2}}},
	} {
		if err := apply(c.ct, c.v); err != nil {
			t.Fatal(err)
		}
	}
	return f, apply
}

func report(node string, epoch uint64, svc string, actual map[string]int64) ReportUsage {
	return ReportUsage{Report: UsageReport{Node: node, Epoch: epoch, Services: []ServiceUsage{{Service: svc, Actual: actual}}}}
}

// TestUsageReports: valid reports are paired with the bid in force for
// their epoch; invalid ones are refused naming the field and change
// nothing but the index.
func TestUsageReports(t *testing.T) {
	f, apply := usageFSM(t, 3)
	if err := apply(CmdReportUsage, report("n1", 1, "web", map[string]int64{"cpu": 450})); err != nil {
		t.Fatal(err)
	}
	if err := apply(CmdReportUsage, report("n1", 2, "web", map[string]int64{"cpu": 900, "memory": 1 << 20})); err != nil {
		t.Fatal(err)
	}
	if err := apply(CmdReportUsage, report("n1", 2, "db", map[string]int64{"cpu": 1})); err != nil {
		t.Fatal(err) // no bid: stored without a forecast
	}
	invalid := []struct {
		name string
		cmd  ReportUsage
		want string
	}{
		{"future epoch", report("n1", 3, "web", map[string]int64{"cpu": 1}), "epoch: 3 has no committed plan"},
		{"epoch 0", report("n1", 0, "web", map[string]int64{"cpu": 1}), "epoch:"},
		{"unknown node", report("n9", 1, "web", map[string]int64{"cpu": 1}), "node:"},
		{"server-only node", report("s1", 1, "web", map[string]int64{"cpu": 1}), "node:"},
		{"unknown service", report("n1", 1, "nope", map[string]int64{"cpu": 1}), "services[0].service"},
		{"bad resource", report("n1", 1, "web", map[string]int64{"gpu": 1}), "services[0].actual.gpu"},
		{"negative", report("n1", 1, "web", map[string]int64{"cpu": -1}), "services[0].actual.cpu"},
		{"too large", report("n1", 1, "web", map[string]int64{"cpu": bidding.MaxQuantity + 1}), "services[0].actual.cpu"},
		{"empty actual", report("n1", 1, "web", nil), "services[0].actual: empty"},
		{"no services", ReportUsage{Report: UsageReport{Node: "n1", Epoch: 1}}, "services: empty"},
		{"duplicate", ReportUsage{Report: UsageReport{Node: "n1", Epoch: 1, Services: []ServiceUsage{
			{Service: "web", Actual: map[string]int64{"cpu": 1}}, {Service: "web", Actual: map[string]int64{"cpu": 2}}}}}, "appears twice"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			before := hashIgnoringIndex(f)
			err := apply(CmdReportUsage, tc.cmd)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if hashIgnoringIndex(f) != before {
				t.Fatal("a refused report changed the state")
			}
		})
	}
	web := f.Usage("web")["n1"]
	if len(web) != 2 || web[0].Epoch != 1 || web[1].Epoch != 2 {
		t.Fatalf("web pairs %+v", web)
	}
	if web[0].BidEpoch != 1 || web[0].Forecast["cpu"].P50 != 500 || web[1].BidEpoch != 2 || web[1].Forecast["cpu"].P50 != 800 {
		t.Fatalf("pairs not matched with the bid of their epoch: %+v", web)
	}
	if db := f.Usage("db")["n1"]; len(db) != 1 || db[0].Forecast != nil {
		t.Fatalf("db pairs %+v: want one, without a forecast", db)
	}
	// A resent report replaces; history is trimmed to plan_history epochs.
	if err := apply(CmdReportUsage, report("n1", 2, "web", map[string]int64{"cpu": 901})); err != nil {
		t.Fatal(err)
	}
	if got := f.Usage("web")["n1"]; len(got) != 2 || got[1].Actual["cpu"] != 901 {
		t.Fatalf("resend: %+v", got)
	}
	for e := uint64(3); e <= 4; e++ {
		if err := apply(CmdCommitPlan, CommitPlan{Plan: bidding.Plan{Epoch: e}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Usage("web")["n1"]; len(got) != 1 || got[0].Epoch != 2 {
		t.Fatalf("after epoch 4 with plan_history 3: %+v, want only epoch 2", got)
	}
	if err := apply(CmdReportUsage, report("n1", 1, "web", map[string]int64{"cpu": 1})); err == nil || !strings.Contains(err.Error(), "plan_history") {
		t.Fatalf("report older than plan_history: %v", err)
	}
	// Deregistering a service drops its usage.
	if err := apply(CmdDeregisterService, DeregisterService{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if got := f.Usage("web"); len(got) != 0 {
		t.Fatalf("usage of a deregistered service: %+v", got)
	}
}

func TestUsageSnapshotRoundTrip(t *testing.T) {
	f, apply := usageFSM(t, 10)
	if err := apply(CmdReportUsage, report("n1", 2, "web", map[string]int64{"cpu": 900})); err != nil {
		t.Fatal(err)
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := New()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != f.Hash() {
		t.Fatal("hash differs after restore")
	}
	if got := g.Usage("web")["n1"]; len(got) != 1 || got[0].Forecast["cpu"].P50 != 800 {
		t.Fatalf("restored usage %+v", got)
	}
	// A state without usage keeps its bytes: the field is omitted.
	if strings.Contains(string(mustSnapshot(t, New())), "usage") {
		t.Fatal("an empty state encodes a usage field")
	}
}

func mustSnapshot(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

package fsm

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

// regT is the i-th 5-minute step from a fixed instant.
func regT(i int) time.Time {
	return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * 5 * time.Minute)
}

func regressorFSM(t *testing.T, history int) (*FSM, func(CommandType, any) error) {
	t.Helper()
	f := New()
	var idx uint64
	apply := func(ct CommandType, v any) error { idx++; return f.ApplyCommand(idx, mustEncode(t, ct, v)) }
	st := DefaultSettings()
	st.PlanHistory = history
	if err := apply(CmdSetSettings, SetSettings{Settings: st}); err != nil {
		t.Fatal(err)
	}
	return f, apply
}

func points(from, to int, value func(int) float64) []RegressorPoint {
	var out []RegressorPoint
	for i := from; i < to; i++ {
		out = append(out, RegressorPoint{Time: regT(i), Value: value(i)})
	}
	return out
}

// TestRegressors: values are stored by name and time (times as given, in
// UTC), a point at a stored instant replaces it, each name keeps its newest
// 2 × plan_history points, an empty list removes a name, and invalid
// updates are refused naming the field, changing nothing but the index.
func TestRegressors(t *testing.T) {
	f, apply := regressorFSM(t, 3) // keeps 6 points per name
	paris := time.FixedZone("CET", 3600)
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{
		"temperature": {{Time: regT(1).In(paris), Value: 13}, {Time: regT(0), Value: 12.5}},
		"event":       points(0, 4, func(i int) float64 { return float64(i % 2) }),
	}}); err != nil {
		t.Fatal(err)
	}
	got := f.Regressors("temperature")["temperature"]
	if len(got) != 2 || !got[0].Time.Equal(regT(0)) || got[0].Value != 12.5 || !got[1].Time.Equal(regT(1)) || got[1].Time.Location() != time.UTC {
		t.Fatalf("temperature %+v: want two points sorted by time, in UTC", got)
	}
	if all := f.Regressors(); len(all) != 2 {
		t.Fatalf("all regressors %+v", all)
	}
	// Merge: regT(1) replaced, regT(2) added; a later duplicate in one command wins.
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{"temperature": {
		{Time: regT(1), Value: 99}, {Time: regT(2), Value: 15}, {Time: regT(1), Value: 14}}}}); err != nil {
		t.Fatal(err)
	}
	got = f.Regressors("temperature")["temperature"]
	if len(got) != 3 || got[1].Value != 14 || got[2].Value != 15 {
		t.Fatalf("after merge %+v", got)
	}
	// Pruning: the newest 6 by time, whatever order they arrive in.
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{"temperature": points(3, 8, func(i int) float64 { return float64(100 + i) })}}); err != nil {
		t.Fatal(err)
	}
	got = f.Regressors("temperature")["temperature"]
	if len(got) != 6 || !got[0].Time.Equal(regT(2)) || !got[5].Time.Equal(regT(7)) {
		t.Fatalf("after pruning %+v: want regT(2)..regT(7)", got)
	}
	// An old point beyond the kept window is pruned at once.
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{"temperature": {{Time: regT(-50), Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if got2 := f.Regressors("temperature")["temperature"]; len(got2) != 6 || !got2[0].Time.Equal(regT(2)) {
		t.Fatalf("an old point displaced a newer one: %+v", got2)
	}

	many := map[string][]RegressorPoint{}
	for i := 0; i <= MaxRegressorNames; i++ {
		many[fmt.Sprintf("r%03d", i)] = points(0, 1, func(int) float64 { return 1 })
	}
	invalid := []struct {
		name string
		set  map[string][]RegressorPoint
		want string
	}{
		{"empty", nil, "regressors: empty"},
		{"bad name", map[string][]RegressorPoint{"bad name": points(0, 1, func(int) float64 { return 1 })}, "regressors: \"bad name\""},
		{"too many points for a name", map[string][]RegressorPoint{"x": points(0, 7, func(int) float64 { return 1 })}, "regressors.x: 7 points, at most 6"},
		{"too large", map[string][]RegressorPoint{"x": {{Time: regT(0), Value: 2e15}}}, "regressors.x[0].value"},
		{"zero time", map[string][]RegressorPoint{"x": {{Time: regT(0)}, {Value: 1}}}, "regressors.x[1].time"},
		{"far future", map[string][]RegressorPoint{"x": {{Time: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}}}, "regressors.x[0].time"},
		{"too many names", many, "names"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			before := hashIgnoringIndex(f)
			err := apply(CmdSetRegressors, SetRegressors{Regressors: tc.set})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if hashIgnoringIndex(f) != before {
				t.Fatal("a refused update changed the state")
			}
			if f.ValidateRegressors(tc.set) == nil {
				t.Fatal("ValidateRegressors accepted what Apply refused")
			}
		})
	}
	// A non-finite value cannot even be encoded into a command; the check is for the API.
	if err := f.ValidateRegressors(map[string][]RegressorPoint{"x": {{Time: regT(0), Value: math.Inf(1)}}}); err == nil || !strings.Contains(err.Error(), "regressors.x[0].value") {
		t.Fatalf("infinite value: %v", err)
	}
	// The name limit counts names kept after the update.
	fill := map[string][]RegressorPoint{}
	for i := 0; len(fill)+2 < MaxRegressorNames; i++ {
		fill[fmt.Sprintf("r%03d", i)] = points(0, 1, func(int) float64 { return 1 })
	}
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: fill}); err != nil {
		t.Fatal(err)
	}
	one := map[string][]RegressorPoint{"extra": points(0, 1, func(int) float64 { return 1 })}
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: one}); err == nil || !strings.Contains(err.Error(), "names would be kept") {
		t.Fatalf("a name past the limit: %v", err)
	}
	// Removing one (an empty list) makes room in the same update.
	one["event"] = nil
	if err := apply(CmdSetRegressors, SetRegressors{Regressors: one}); err != nil {
		t.Fatal(err)
	}
	if r := f.Regressors("event", "extra"); len(r) != 1 || len(r["extra"]) != 1 {
		t.Fatalf("after removing event and adding extra: %+v", r)
	}
}

func TestRegressorsSnapshotAndDeterminism(t *testing.T) {
	build := func() *FSM {
		f, apply := regressorFSM(t, 10)
		for k := 0; k < 5; k++ {
			if err := apply(CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{
				"temperature": points(k*7, k*7+15, func(i int) float64 { return float64(i) / 3 }),
				"event":       points(k, k+2, func(i int) float64 { return float64(i % 2) }),
			}}); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	f, g := build(), build()
	if f.Hash() != g.Hash() {
		t.Fatal("the same log gave different states")
	}
	if got := f.Regressors()["temperature"]; len(got) != RegressorKeep(10) || !got[len(got)-1].Time.Equal(regT(42)) {
		t.Fatalf("kept %d temperature points ending %v, want %d ending %v", len(got), got[len(got)-1].Time, RegressorKeep(10), regT(42))
	}
	h := New()
	if err := h.Restore(io.NopCloser(bytes.NewReader(mustSnapshot(t, f)))); err != nil {
		t.Fatal(err)
	}
	if h.Hash() != f.Hash() {
		t.Fatal("hash differs after restore")
	}
	if got, want := h.Regressors(), f.Regressors(); len(got) != 2 || len(got["event"]) != len(want["event"]) || !got["event"][0].Time.Equal(want["event"][0].Time) {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
	// Applying the same update after the restore keeps them equal.
	next := mustEncode(t, CmdSetRegressors, SetRegressors{Regressors: map[string][]RegressorPoint{"temperature": points(50, 52, func(int) float64 { return 7 })}})
	if err := f.ApplyCommand(1000, next); err != nil {
		t.Fatal(err)
	}
	if err := h.ApplyCommand(1000, next); err != nil {
		t.Fatal(err)
	}
	if h.Hash() != f.Hash() {
		t.Fatal("states diverge after restore")
	}
	// A state without regressors keeps its bytes: the field is omitted.
	if bytes.Contains(mustSnapshot(t, New()), []byte("regressors")) {
		t.Fatal("an empty state encodes a regressors field")
	}
}

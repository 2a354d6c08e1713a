package clusterbench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestMainRefusesBadFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"--help"}, 0},
		{"zero nodes", []string{"--nodes", "0"}, 2},
		{"negative epoch", []string{"--epoch", "-1s"}, 2},
		{"huge batch", []string{"--batch-size", "20000"}, 2},
		{"stray argument", []string{"now"}, 2},
		{"unknown flag", []string{"--bogus"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := Main(c.args, &out, &errb); got != c.code {
				t.Fatalf("exit %d, want %d (%s)", got, c.code, errb.String())
			}
			if out.Len() != 0 {
				t.Fatalf("printed a result: %s", out.String())
			}
		})
	}
}

// TestTinyRun runs every phase but etcd's at the smallest size and checks
// that each figure was measured (no timing is judged here).
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers several times")
	}
	o := Options{Nodes: 3, ServicesPerNode: 2, Epochs: 2, Epoch: 300 * time.Millisecond, Clients: 4, BatchClients: 2,
		BatchSize: 20, Ingest: 300 * time.Millisecond, CatchupEntries: 300, SnapshotRounds: 2, Baseline: true}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, hclog.NewNullLogger(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	for _, field := range []string{"placements", "rss_mb_after_warmup", "rss_mb_last", "snapshot_mb", "apply_stall_ms_max",
		"commit_ms_p50", "commit_ms_p99", "client_bytes_per_epoch", "ingest_single_per_s", "ingest_batch_per_s",
		"ingest_batch_p99_ms", "catchup_s", "snapshot_stall", "added_p99_ms"} {
		if !strings.Contains(string(b), `"`+field+`":`) {
			t.Errorf("no %s in %s", field, b)
		}
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"placements", res.Placements == 6},
		{"commit latencies", res.CommitMSP50 > 0},
		{"client downloads", res.ClientBytesPerEpoch > 0},
		{"client errors", res.ClientErrors == 0},
		{"rss", res.RSSMBLast > 0 && len(res.RSSMB) > 0},
		{"snapshot", res.SnapshotMB > 0 && res.RaftDBMB > 0},
		// Not FSMOnly.N: at this size the FSM's snapshot can take less than
		// one probe write (seen in CI: n 0 under load), in either background.
		{"stall under load", res.SnapshotStall.Load.Rounds == 2 && res.SnapshotStall.Load.With.N > 0 && res.SnapshotStall.Load.Without.N > 0 && len(res.SnapshotStall.Load.RoundMaxMS) == 2},
		{"stall quiet", res.SnapshotStall.Quiet.Rounds == 2 && res.SnapshotStall.Quiet.With.N > 0 && res.SnapshotStall.Quiet.Without.N > 0},
		{"one server", res.HeapLiveMBOneServer > 0 && res.RSSMBOneServer > 0 && res.PlansKept >= 2},
		{"ingest", res.IngestSinglePerS > 0 && res.IngestBatchPerS > 0 && res.Allot.Errors == 0},
		{"catch-up", res.CatchupS > 0 && res.Allot.CatchupSnapshotS > 0},
		{"baseline", res.Baseline != nil && res.Baseline.IngestSinglePerS > 0 && res.Baseline.RequestsPerEntry == 1 && res.Baseline.Errors == 0},
		{"no etcd", res.Etcd == nil},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s not measured: %s", c.what, b)
		}
	}
}

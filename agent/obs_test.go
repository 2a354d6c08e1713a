//go:build prom || browser

package agent

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
)

// Helpers of the observability suites (make prom, make browser): a
// three-server cluster whose servers are also clients (capacity records,
// no enforcement) and a workload that bids and reports usage every epoch.

// repoRoot is the module root (for deploy/ and e2e/out/).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// obsCluster starts three server+client agents (1 s epochs) and waits for
// a leader with three voters and a first plan.
func obsCluster(t *testing.T) []*running {
	t.Helper()
	rs := startServersWith(t, 3, "n", func(int) []string { return []string{"--client", "--enforce", "none"} })
	waitFor(t, "a leader with 3 voters", 60*time.Second, func() bool {
		v, l := peers(rs[0])
		return v == 3 && l != ""
	})
	return rs
}

// driveWorkload registers web (critical), batch and the extra services and,
// for every plan until ctx ends, bids for each on every node and reports
// what they used in the plan's epoch: usage swings around the bids' p50 so
// the charts and coverage have something to show. It returns when ctx ends.
func driveWorkload(ctx context.Context, t *testing.T, c *api.Client, nodes []string, extra ...bidding.Service) {
	svcs := append([]bidding.Service{
		{Name: "web", Class: bidding.ClassCritical, Min: bidding.Vec{100, 64 << 20}},
		{Name: "batch", Class: bidding.ClassBatch},
	}, extra...)
	for _, s := range svcs {
		if err := c.RegisterService(ctx, s); err != nil {
			t.Errorf("registering %s: %v", s.Name, err)
			return
		}
	}
	var index uint64
	for ctx.Err() == nil {
		p, err := c.WatchPlan(ctx, index, 10*time.Second)
		if err != nil {
			if !api.IsNotFound(err) && ctx.Err() == nil {
				t.Logf("workload: %v", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if p.Index <= index {
			continue
		}
		index = p.Index
		e := float64(p.Epoch)
		var bids []bidding.Bid
		rep := map[string]fsm.UsageReport{}
		for i, n := range nodes {
			for j, sv := range svcs {
				s, scale := sv.Name, int64(1+j)
				res := map[string]bidding.Quantiles{
					"cpu":    {P50: 400 * scale, P90: 600 * scale, P99: 800 * scale},
					"memory": {P50: 128 << 20, P90: 192 << 20, P99: 256 << 20},
					"net":    {P50: 40_000, P90: 84_000, P99: 120_000},
				}
				if s == "web" { // batch asks no io: its io stays unlimited
					res["io"] = bidding.Quantiles{P50: 4 << 20, P90: 6 << 20, P99: 8 << 20}
				}
				bids = append(bids, bidding.Bid{Service: s, Node: n, Epoch: p.Epoch + 1, Resources: res})
				wave := math.Sin(e/2 + float64(i+j))
				r := rep[n]
				r.Node, r.Epoch = n, p.Epoch
				actual := map[string]int64{
					"cpu":    int64(float64(450*scale) + 250*wave),
					"memory": int64(150<<20 + 40<<20*wave),
					"net":    int64(50_000 + 30_000*wave),
				}
				if s == "web" {
					actual["io"] = int64(5<<20 + 2<<20*wave)
				}
				r.Services = append(r.Services, fsm.ServiceUsage{Service: s, Actual: actual})
				rep[n] = r
			}
		}
		if _, err := c.PutBids(ctx, bids); err != nil && ctx.Err() == nil {
			t.Logf("workload: bids for epoch %d: %v", p.Epoch+1, err)
		}
		for _, n := range nodes {
			if err := c.PutUsage(ctx, rep[n]); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				t.Logf("workload: usage of %s for epoch %d: %v", n, p.Epoch, err)
			}
		}
	}
}

// outDir is where the suites leave what a person should look at.
func outDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(repoRoot(t), "e2e", "out")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

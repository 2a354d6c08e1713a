package clusterbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/raft"
)

// Side is one cluster configuration's ingest and catch-up figures.
type Side struct {
	IngestSinglePerS     float64 `json:"ingest_single_per_s"`
	IngestSingleP99MS    float64 `json:"ingest_single_p99_ms"`
	IngestBatchPerS      float64 `json:"ingest_batch_per_s"`
	IngestBatchP99MS     float64 `json:"ingest_batch_p99_ms"`
	IngestBatchHalfP99MS float64 `json:"ingest_batch_p99_ms_half_rate"`
	// RequestsPerEntry is the group commit's mean batch over the ingest
	// runs (1 without it).
	RequestsPerEntry float64 `json:"requests_per_entry"`
	CatchupS         float64 `json:"catchup_s"`
	CatchupSnapshotS float64 `json:"catchup_snapshot_s"`
	// CatchupRestartS is the part of CatchupS spent reopening the
	// follower (storage, its own snapshot) before Raft runs, and
	// CatchupFirstS the time until it applied its first missed entry.
	CatchupRestartS float64 `json:"catchup_restart_s"`
	CatchupFirstS   float64 `json:"catchup_first_s"`
	Errors          int64   `json:"errors"`
}

// errorsJoin is errors.Join that keeps a single error as it is.
func errorsJoin(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return errors.Join(a, b)
}

// loadResult is one closed or paced load run.
type loadResult struct {
	ok, errs int64
	elapsed  time.Duration
	lat      *latencies
}

// closedLoop runs workers that each send one request after another for d
// (or until ctx ends): the throughput of a fixed number of callers.
func closedLoop(ctx context.Context, workers int, d time.Duration, send func(ctx context.Context, worker, i int) error) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	r := loadResult{lat: &latencies{}}
	var ok, errs atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				s := time.Now()
				err := send(ctx, g, i)
				if ctx.Err() != nil {
					return // cut off by the end of the run: neither counted
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				ok.Add(1)
				r.lat.add(time.Since(s))
			}
		}()
	}
	wg.Wait()
	r.ok, r.errs, r.elapsed = ok.Load(), errs.Load(), time.Since(t0)
	return r
}

// pacedLoop sends rate requests per second for d (open loop, at most
// workers in flight; a tick with none free is skipped and counted as an
// error): latency at a given load rather than at saturation.
func pacedLoop(ctx context.Context, workers int, rate float64, d time.Duration, send func(ctx context.Context, i int) error) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	r := loadResult{lat: &latencies{}}
	var ok, errs atomic.Int64
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / max(rate, 0.1)))
	defer tick.Stop()
	t0 := time.Now()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			r.ok, r.errs, r.elapsed = ok.Load(), errs.Load(), time.Since(t0)
			return r
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			errs.Add(1)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s := time.Now()
			if err := send(ctx, i); err != nil {
				if ctx.Err() == nil {
					errs.Add(1)
				}
				return
			}
			ok.Add(1)
			r.lat.add(time.Since(s))
		}()
	}
}

// runIngest measures bids/s through the leader's HTTP API: single-bid
// requests from o.Clients callers, o.BatchSize-bid requests from
// o.BatchClients callers, then batches at half that rate for their latency.
func runIngest(ctx context.Context, f *fleet, w workload, o Options) (Side, error) {
	var side Side
	l := f.leader()
	if l == nil {
		return side, fmt.Errorf("no leader")
	}
	hc := &http.Client{Transport: pooledTransport(o.Clients + o.BatchClients), Timeout: time.Minute}
	c := l.client(hc)
	epoch := l.srv.FSM().SolveInputs().Epoch
	before := l.srv.BatchStats()

	single := closedLoop(ctx, o.Clients, o.Ingest, func(ctx context.Context, g, i int) error {
		n := (g*7919 + i*31) % len(w.nodes)
		_, err := c.PutBids(ctx, []bidding.Bid{w.bid(n, i%w.perNode, epoch)})
		return err
	})
	side.IngestSinglePerS = round(float64(single.ok)/single.elapsed.Seconds(), 0)
	side.IngestSingleP99MS = single.lat.p(99)

	// Pre-built batch requests: consecutive nodes' bids.
	var batches [][]bidding.Bid
	for start := 0; len(batches) < 16; start += o.BatchSize {
		var b []bidding.Bid
		for k := range o.BatchSize {
			p := (start + k) % w.placements()
			b = append(b, w.bid(p/w.perNode, p%w.perNode, epoch))
		}
		batches = append(batches, b)
	}
	batch := closedLoop(ctx, o.BatchClients, o.Ingest, func(ctx context.Context, g, i int) error {
		_, err := c.PutBids(ctx, batches[(g+i*o.BatchClients)%len(batches)])
		return err
	})
	perS := float64(batch.ok) * float64(o.BatchSize) / batch.elapsed.Seconds()
	side.IngestBatchPerS = round(perS, 0)
	side.IngestBatchP99MS = batch.lat.p(99)

	half := pacedLoop(ctx, 4*o.BatchClients, perS/2/float64(o.BatchSize), o.Ingest, func(ctx context.Context, i int) error {
		_, err := c.PutBids(ctx, batches[i%len(batches)])
		return err
	})
	side.IngestBatchHalfP99MS = half.lat.p(99)
	side.Errors = single.errs + batch.errs + half.errs
	after := l.srv.BatchStats()
	side.RequestsPerEntry = 1
	if e := after.Entries - before.Entries; e > 0 {
		side.RequestsPerEntry = round(float64(after.Requests-before.Requests)/float64(e), 2)
	}
	return side, ctx.Err()
}

// catchup stops a follower, writes entries (one-bid entries, one each,
// from 32 writers), optionally has the leader snapshot and compact its log
// (so the follower needs the snapshot), restarts the follower on its data
// dir and times it from the restart until it has applied the leader's index.
func catchup(ctx context.Context, f *fleet, w workload, entries int, viaSnapshot bool) (total, restart, first float64, err error) {
	l, fo := f.leader(), f.follower()
	if l == nil || fo == nil {
		return 0, 0, 0, fmt.Errorf("need a leader and a follower")
	}
	// The follower snapshots first, so that its restart replays only what
	// it missed, not its own log since its last snapshot (an in-memory FSM
	// re-applies that; the batched ingest left large entries in it).
	if err := fo.srv.Raft().Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return 0, 0, 0, fmt.Errorf("follower snapshot: %w", err)
	}
	f.stopServer(fo)
	epoch := l.srv.FSM().SolveInputs().Epoch
	var next atomic.Int64
	var werr atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(entries) && ctx.Err() == nil; i = next.Add(1) {
				b := w.bid(int(i)%len(w.nodes), int(i/int64(len(w.nodes)))%w.perNode, epoch)
				if _, err := l.srv.Apply(ctx, fsm.CmdSubmitBids, fsm.SubmitBids{Bids: []bidding.Bid{b}}); err != nil {
					werr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := werr.Load().(error); err != nil {
		return 0, 0, 0, fmt.Errorf("writing %d entries with a follower away: %w", entries, err)
	}
	if viaSnapshot {
		if err := l.srv.Raft().Snapshot().Error(); err != nil {
			return 0, 0, 0, fmt.Errorf("leader snapshot: %w", err)
		}
	}
	target := l.srv.FSM().Index()
	t0 := time.Now()
	pprof.Do(ctx, pprof.Labels("catchup", fmt.Sprint(viaSnapshot)), func(ctx context.Context) { err = f.start(ctx, fo) })
	if err != nil {
		return 0, 0, 0, err
	}
	restart = round(time.Since(t0).Seconds(), 3)
	start := fo.srv.FSM().Index()
	err = poll(ctx, 2*time.Minute, 5*time.Millisecond, func() bool {
		idx := fo.srv.FSM().Index()
		if first == 0 && idx > start {
			first = round(time.Since(t0).Seconds(), 3)
		}
		return idx >= target
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("follower catching up to %d: %w", target, err)
	}
	return round(time.Since(t0).Seconds(), 3), restart, first, nil
}

package clusterbench

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/raft"
)

// SnapshotStall is what a leader snapshot does to writes, measured under
// two backgrounds: "load" while the simulated nodes still watch and bid and
// epochs still close (as in the epoch phase), "quiet" once the nodes are
// stopped and no epoch closes. Under each, a probe writes one-bid entries
// on the leader one after another (each through Raft: the leader's disk,
// a follower's, the leader's FSM) through Rounds alternations of a window
// without a snapshot and one with a snapshot (as long as it takes), and
// every write's latency is kept: the stall a snapshot adds is With minus
// Without under the same background, not With alone.
type SnapshotStall struct {
	Load  StallFigures `json:"load"`
	Quiet StallFigures `json:"quiet"`
}

// StallFigures are one background's probe writes. AddedP99MS and
// AddedMaxMS are With minus Without (negative: the windows with a
// snapshot were faster, i.e. no measurable stall). RoundMaxMS is the
// longest write during each round's snapshot, in order (the first one
// also compacts the log written since the last automatic snapshot).
//
// FSMOnly is a third window per round: the leader's FSM snapshot (its clone
// and encoding, to a sink that discards) without Raft's part (the file
// snapshot store's writes and fsyncs, the log compaction): what the FSM's
// share of the stall is. GC and assist figures are this process's, summed
// over each kind of window (runtime/metrics): a snapshot's allocations can
// slow applies through mark assists.
type StallFigures struct {
	Rounds        int       `json:"rounds"`
	With          Latency   `json:"with_snapshot"`
	Without       Latency   `json:"without_snapshot"`
	FSMOnly       Latency   `json:"fsm_snapshot_only"`
	GC            GCFigures `json:"gc"`
	AddedP99MS    float64   `json:"added_p99_ms"`
	AddedMaxMS    float64   `json:"added_max_ms"`
	RoundMaxMS    []float64 `json:"round_max_ms"`
	RoundsLost    int       `json:"rounds_lost_to_elections"` // dropped (and run again) because leadership moved
	SnapshotMSMax float64   `json:"snapshot_ms_max"`          // the longest snapshot (raft's future: FSM clone, persist, compaction)
}

// GCFigures are the collections and mark-assist CPU time during each
// kind of window.
type GCFigures struct {
	CyclesWith      uint64  `json:"cycles_with_snapshot"`
	CyclesWithout   uint64  `json:"cycles_without_snapshot"`
	CyclesFSMOnly   uint64  `json:"cycles_fsm_snapshot_only"`
	AssistMSWith    float64 `json:"assist_cpu_ms_with_snapshot"`
	AssistMSWithout float64 `json:"assist_cpu_ms_without_snapshot"`
	AssistMSFSMOnly float64 `json:"assist_cpu_ms_fsm_snapshot_only"`
}

// gcCounters reads the process's GC cycles and mark-assist CPU seconds.
func gcCounters() (uint64, float64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/mark/assist:cpu-seconds"}}
	metrics.Read(s)
	var cycles uint64
	var assist float64
	if s[0].Value.Kind() == metrics.KindUint64 {
		cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		assist = s[1].Value.Float64()
	}
	return cycles, assist
}

// gcDuring adds the collections and assist time during run to cycles and assistMS.
func gcDuring(cycles *uint64, assistMS *float64, run func() ([]float64, error)) ([]float64, error) {
	c0, a0 := gcCounters()
	out, err := run()
	c1, a1 := gcCounters()
	*cycles += c1 - c0
	*assistMS = round(*assistMS+(a1-a0)*1000, 1)
	return out, err
}

// discard is a raft.SnapshotSink that keeps nothing.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }
func (discard) Cancel() error               { return nil }
func (discard) ID() string                  { return "discard" }

// Latency summarises probe writes.
type Latency struct {
	N     int     `json:"n"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
}

func summarise(xs []float64) Latency {
	l := Latency{N: len(xs), P50MS: round(percentile(xs, 50), 2), P99MS: round(percentile(xs, 99), 2)}
	for _, x := range xs {
		l.MaxMS = max(l.MaxMS, x)
	}
	return l
}

// snapshotFigures are the leader's storage and a snapshot's cost.
type snapshotFigures struct {
	snapshotMB, snapshotWriteMS float64
	stall                       StallFigures
}

// measureStall runs rounds alternations of a window without a snapshot
// (as long as the previous snapshot took, 500 ms before the first, plus
// 100 ms) and a leader snapshot, with the probe writing throughout both.
func measureStall(ctx context.Context, f *fleet, w workload, rounds int) (snapshotFigures, error) {
	var fig snapshotFigures
	l := f.leader()
	if l == nil {
		return fig, fmt.Errorf("no leader")
	}
	var with, without, fsmOnly []float64
	g := &fig.stall.GC
	took := 500 * time.Millisecond
	for r := 0; r < rounds; r++ {
		w1, f1, s1, err := stallRound(ctx, l, w, g, &took, &fig)
		if errors.Is(err, cluster.ErrNotLeader) && fig.stall.RoundsLost < rounds {
			// An election under load: drop the round and go on with the new leader.
			fig.stall.RoundsLost++
			r--
			if err := poll(ctx, time.Minute, 50*time.Millisecond, func() bool { return f.leader() != nil }); err != nil {
				return fig, fmt.Errorf("no leader after an election: %w", err)
			}
			l = f.leader()
			continue
		}
		if err != nil {
			return fig, fmt.Errorf("round %d: %w", r+1, err)
		}
		without, fsmOnly, with = append(without, w1...), append(fsmOnly, f1...), append(with, s1...)
		fig.stall.RoundMaxMS = append(fig.stall.RoundMaxMS, summarise(s1).MaxMS)
	}
	fig.stall.Rounds = rounds
	fig.stall.With, fig.stall.Without, fig.stall.FSMOnly = summarise(with), summarise(without), summarise(fsmOnly)
	fig.stall.AddedP99MS = round(fig.stall.With.P99MS-fig.stall.Without.P99MS, 2)
	fig.stall.AddedMaxMS = round(fig.stall.With.MaxMS-fig.stall.Without.MaxMS, 2)
	fig.stall.SnapshotMSMax = fig.snapshotWriteMS
	return fig, nil
}

// stallRound runs one round's three windows on the leader l: none, the
// FSM's snapshot alone, a Raft snapshot; it returns each window's write
// latencies and keeps the snapshot's size and duration in fig.
func stallRound(ctx context.Context, l *server, w workload, g *GCFigures, took *time.Duration, fig *snapshotFigures) (none, fsmOnly, with []float64, err error) {
	epoch := l.srv.FSM().SolveInputs().Epoch // bids stay within bid_ttl of it for a round
	none, err = gcDuring(&g.CyclesWithout, &g.AssistMSWithout, func() ([]float64, error) {
		return probeDuring(ctx, l, w, epoch, func() error { sleep(ctx, *took+100*time.Millisecond); return ctx.Err() })
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("without a snapshot: %w", err)
	}
	fsmOnly, err = gcDuring(&g.CyclesFSMOnly, &g.AssistMSFSMOnly, func() ([]float64, error) {
		return probeDuring(ctx, l, w, epoch, func() error {
			snap, err := l.srv.FSM().Snapshot()
			if err != nil {
				return err
			}
			defer snap.Release()
			return snap.Persist(discard{})
		})
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("with the FSM's snapshot only: %w", err)
	}
	with, err = gcDuring(&g.CyclesWith, &g.AssistMSWith, func() ([]float64, error) {
		return probeDuring(ctx, l, w, epoch, func() error {
			t0 := time.Now()
			sf := l.srv.Raft().Snapshot()
			if err := sf.Error(); err != nil {
				if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
					return fmt.Errorf("snapshot: %w", cluster.ErrNotLeader)
				}
				return fmt.Errorf("snapshot: %w", err)
			}
			*took = time.Since(t0)
			meta, rc, err := sf.Open()
			if err != nil {
				return fmt.Errorf("opening the snapshot: %w", err)
			}
			rc.Close()
			fig.snapshotMB = round(float64(meta.Size)/(1<<20), 2)
			return nil
		})
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("with a snapshot: %w", err)
	}
	fig.snapshotWriteMS = max(fig.snapshotWriteMS, ms(*took))
	return none, fsmOnly, with, nil
}

// probeDuring writes one-bid entries on the leader, one after another,
// while during runs, and returns each write's latency in ms. A write the
// FSM refuses (its epoch fell out of the bid window) went through the log
// and the apply all the same and counts.
func probeDuring(ctx context.Context, l *server, w workload, epoch uint64, during func() error) ([]float64, error) {
	stop := make(chan struct{})
	type res struct {
		lat []float64
		err error
	}
	out := make(chan res, 1)
	go func() {
		var lat []float64
		for i := 0; ; i++ {
			select {
			case <-stop:
				out <- res{lat, nil}
				return
			default:
			}
			t0 := time.Now()
			_, err := l.srv.Apply(ctx, fsm.CmdSubmitBids, fsm.SubmitBids{Bids: []bidding.Bid{w.bid(i%len(w.nodes), 0, epoch)}})
			if rerr := (*cluster.RejectedError)(nil); err != nil && !errors.As(err, &rerr) {
				out <- res{lat, fmt.Errorf("probe write: %w", err)}
				return
			}
			lat = append(lat, ms(time.Since(t0)))
		}
	}()
	derr := during()
	close(stop)
	r := <-out
	return r.lat, errorsJoin(derr, r.err)
}

// pauseEpochs sets the replicated epoch length to a day, so the leader's
// epoch loop commits at most the plan it is waiting for, and waits until
// no plan has been committed for two former epochs.
func pauseEpochs(ctx context.Context, f *fleet, epoch time.Duration) error {
	l := f.leader()
	if l == nil {
		return fmt.Errorf("no leader")
	}
	st, ok := l.srv.FSM().Settings()
	if !ok {
		return fmt.Errorf("no replicated settings")
	}
	st.EpochMS = (24 * time.Hour).Milliseconds()
	if _, err := l.srv.Apply(ctx, fsm.CmdSetSettings, fsm.SetSettings{Settings: st}); err != nil {
		return fmt.Errorf("pausing epochs: %w", err)
	}
	idx := func() uint64 { p, _ := l.srv.FSM().LatestPlan(); return p.Index }
	last, since := idx(), time.Now()
	return poll(ctx, 30*time.Second+4*epoch, 50*time.Millisecond, func() bool {
		if i := idx(); i != last {
			last, since = i, time.Now()
		}
		return time.Since(since) >= 2*epoch
	})
}

// Package clusterbench implements `allot bench cluster`: three real Allot
// servers in this process (Raft over TCP on loopback, raft-boltdb and file
// snapshots in a temporary directory, the real HTTP API) and N simulated
// client nodes as goroutines that watch their plan slices and bid over that
// API; then ingest and catch-up on fresh clusters, with group commit and
// redialling on and (as the baseline, in the same run) off, and etcd side by
// side when its binary is installed. Every load loop is bounded in time.
package clusterbench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/allot-dev/allot/internal/cliflag"
	"github.com/hashicorp/go-hclog"
)

// Options are the benchmark's flags.
type Options struct {
	Nodes, ServicesPerNode, Epochs int
	Epoch                          time.Duration
	Clients, BatchClients          int
	BatchSize                      int
	Ingest                         time.Duration
	CatchupEntries                 int
	SnapshotRounds                 int // alternations without / with a snapshot, per background
	Baseline                       bool
	// SkipEpochs and SkipIngest leave out the epoch phase or the ingest and
	// catch-up phase (to measure one part alone on a busy machine).
	SkipEpochs, SkipIngest bool
	EtcdBin                string // "" when etcd does not run
	Timeout                time.Duration
	LogLevel               string
	// MemProfile, when set, is where the heap profile of the leader alone
	// (taken with heap_live_mb_one_server) is written.
	MemProfile string
	// Raft is the servers' log compaction (zero fields: cluster defaults).
	Raft RaftTuning
}

// RaftTuning is cluster.Config's log compaction knobs, as the agent's
// server.raft_snapshot_threshold, _interval and server.raft_trailing_logs.
type RaftTuning struct {
	SnapshotThreshold uint64        `json:"snapshot_threshold"`
	SnapshotInterval  time.Duration `json:"snapshot_interval_ns"`
	TrailingLogs      uint64        `json:"trailing_logs"`
	// LogBudgetFloor is cluster.Config's (0: default, negative: off).
	LogBudgetFloor int64 `json:"log_budget_floor"`
}

// Result is the JSON document `allot bench cluster --json` prints. The
// RSS figures are this process's: three servers and the simulated nodes
// together, so an upper bound of one server's.
type Result struct {
	Nodes           int     `json:"nodes"`
	ServicesPerNode int     `json:"services_per_node"`
	Services        int     `json:"services"`
	Placements      int     `json:"placements"`
	Epochs          int     `json:"epochs"`
	EpochMS         int64   `json:"epoch_ms"`
	RSSMBAfterWarm  float64 `json:"rss_mb_after_warmup"`
	RSSMBLast       float64 `json:"rss_mb_last"`
	RSSMBMax        float64 `json:"rss_mb_max"`
	// HeapLiveMBLast is the Go heap reachable after a collection at the
	// end of the epoch phase (three servers and the simulated nodes).
	HeapLiveMBLast float64 `json:"heap_live_mb_last"`
	// HeapLiveMBOneServer and RSSMBOneServer are measured at the end of
	// the epoch phase, once the simulated nodes and the two followers are
	// stopped (and their memory returned to the OS): the leader alone,
	// with its kept state, Raft log cache and boltdb pages, plus what the
	// benchmark itself holds — an upper bound of one server's.
	HeapLiveMBOneServer float64 `json:"heap_live_mb_one_server"`
	RSSMBOneServer      float64 `json:"rss_mb_one_server"`
	// MemoryOneServer is where that RSS is, read at the same moment.
	MemoryOneServer MemoryBreakdown `json:"memory_one_server"`
	// PlanHistoryMB is the leader's kept plans as plan_history_bytes
	// counts them (whole plans' JSON, past plans' compact size), and
	// PlansKept how many epochs that is.
	PlanHistoryMB float64 `json:"plan_history_mb"`
	PlansKept     int     `json:"plans_kept"`
	// RSSMB is sampled every second through the epoch phase.
	RSSMB           []float64 `json:"rss_mb"`
	RaftDBMB        float64   `json:"raft_db_mb"`
	SnapshotMB      float64   `json:"snapshot_mb"`
	SnapshotWriteMS float64   `json:"snapshot_write_ms"`
	// ApplyStallMSMax is the longest one-bid write on the leader during a
	// snapshot under the epoch phase's load (SnapshotStall.Load.With.MaxMS):
	// the key, an upper bound of the stall a snapshot causes, not
	// the stall it adds (SnapshotStall: with minus without, also quiet).
	// WriteMSMaxNoSnapshot is the longest in the windows without one.
	ApplyStallMSMax      float64       `json:"apply_stall_ms_max"`
	WriteMSMaxNoSnapshot float64       `json:"write_ms_max_without_snapshot"`
	SnapshotStall        SnapshotStall `json:"snapshot_stall"`
	// SnapshotStallError says why a stall measurement stopped short (more
	// rounds lost to elections than it runs): its figures are partial.
	SnapshotStallError string `json:"snapshot_stall_error,omitempty"`
	// CommitMS: from an epoch's deadline (previous plan's created + epoch)
	// until the plan is applied on the leader (solve, encode, commit).
	CommitMSP50         float64 `json:"commit_ms_p50"`
	CommitMSP99         float64 `json:"commit_ms_p99"`
	SolveMSP50          float64 `json:"solve_ms_p50"`
	ClientBytesPerEpoch float64 `json:"client_bytes_per_epoch"`
	ClientErrors        int64   `json:"client_errors"`
	ClientError         string  `json:"client_error,omitempty"` // the first of them
	IngestSinglePerS    float64 `json:"ingest_single_per_s"`
	IngestBatchPerS     float64 `json:"ingest_batch_per_s"`
	IngestBatchP99MS    float64 `json:"ingest_batch_p99_ms"`
	CatchupS            float64 `json:"catchup_s"`
	CatchupEntries      int     `json:"catchup_entries"`
	Allot               Side    `json:"allot"`
	Baseline            *Side   `json:"baseline,omitempty"`
	Etcd                *Etcd   `json:"etcd,omitempty"`
	EtcdSkipped         string  `json:"etcd_skipped,omitempty"`
}

// Main runs `allot bench cluster` with args (the words "bench cluster"
// excluded) and returns the exit code: 0 ok, 1 error, 2 usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("allot bench cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.IntVar(&o.Nodes, "nodes", 100, "simulated client nodes")
	fs.IntVar(&o.ServicesPerNode, "services-per-node", 10, "services on each node (placements = nodes × this)")
	fs.IntVar(&o.Epochs, "epochs", 10, "plans to commit in the epoch phase")
	fs.DurationVar(&o.Epoch, "epoch", time.Second, "epoch length")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent callers of single-bid ingest (and etcd puts)")
	fs.IntVar(&o.BatchClients, "batch-clients", 8, "concurrent callers of batched ingest")
	fs.IntVar(&o.BatchSize, "batch-size", 1000, "bids per batched request")
	fs.DurationVar(&o.Ingest, "ingest", 5*time.Second, "length of each ingest run")
	fs.IntVar(&o.CatchupEntries, "catchup-entries", 20000, "entries a follower misses before it returns")
	fs.IntVar(&o.SnapshotRounds, "snapshot-rounds", 5, "alternations of a window without and one with a leader snapshot, under load and quiet")
	fs.BoolVar(&o.Baseline, "baseline", true, "also run ingest and catch-up with group commit and redialling off")
	fs.BoolVar(&o.SkipEpochs, "skip-epochs", false, "leave out the epoch phase")
	fs.BoolVar(&o.SkipIngest, "skip-ingest", false, "leave out Allot's ingest and catch-up (and the baseline's)")
	etcd := fs.String("etcd", "auto", "etcd binary for the side-by-side run: auto (etcd on PATH, if any), none, or a path")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "bound of the whole run")
	fs.StringVar(&o.LogLevel, "log-level", "off", "servers' log level (raft logs every failed RPC to a stopped follower at error)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE`")
	fs.Uint64Var(&o.Raft.SnapshotThreshold, "raft-snapshot-threshold", 0, "servers' log entries between snapshots (0: the server default)")
	fs.DurationVar(&o.Raft.SnapshotInterval, "raft-snapshot-interval", 0, "how often servers check the snapshot threshold (0: the server default)")
	fs.Uint64Var(&o.Raft.TrailingLogs, "raft-trailing-logs", 0, "log entries servers keep behind a snapshot (0: the server default)")
	fs.Int64Var(&o.Raft.LogBudgetFloor, "raft-log-budget-floor", 0, "floor in bytes of the servers' log byte budget (0: the server default, -1: no byte budget, raft's entry bounds only)")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile of the leader alone (when heap_live_mb_one_server is measured) to `FILE`")
	asJSON := fs.Bool("json", false, "print one JSON document")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: allot bench cluster [--nodes N] [--services-per-node S] [--epochs E] [--epoch D] [--json] [flags]")
		fs.PrintDefaults()
	}
	if err := cliflag.Parse(fs, args, stderr); err != nil {
		return cliflag.Exit("allot bench cluster", err, stderr)
	}
	if fs.NArg() > 0 || o.Nodes < 1 || o.ServicesPerNode < 1 || o.Epochs < 1 || o.Epoch <= 0 || o.Clients < 1 ||
		o.BatchClients < 1 || o.BatchSize < 1 || o.BatchSize > 10000 || o.Ingest <= 0 || o.CatchupEntries < 1 || o.SnapshotRounds < 1 {
		fmt.Fprintln(stderr, "allot bench cluster: counts and durations must be positive (batch-size at most 10000), and no arguments")
		return 2
	}
	var skipped string
	switch *etcd {
	case "none":
		skipped = "--etcd none"
	case "auto":
		if p, err := exec.LookPath("etcd"); err == nil {
			o.EtcdBin = p
		} else {
			skipped = "etcd is not on PATH (Debian: apt-get install etcd-server)"
		}
	default:
		o.EtcdBin = *etcd
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "allot bench cluster:", err)
			return 1
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintln(stderr, "allot bench cluster:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	// Ctrl-C or SIGTERM ends the run through its context, so the servers
	// and etcd stop and the temporary directory is removed.
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, o.Timeout)
	defer cancel()
	log := hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.LevelFromString(o.LogLevel), Output: stderr})
	res, err := Run(ctx, log, o)
	if res != nil && skipped != "" {
		res.EtcdSkipped = skipped
	}
	if res != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(res)
		} else {
			printText(stdout, res)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "allot bench cluster:", err)
		return 1
	}
	return 0
}

// Run runs the phases in order; a result with what was measured so far is
// returned with an error.
func Run(ctx context.Context, log hclog.Logger, o Options) (*Result, error) {
	dir, err := os.MkdirTemp("", "allot-bench-cluster-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	w := newWorkload(o.Nodes, o.ServicesPerNode)
	res := &Result{Nodes: o.Nodes, ServicesPerNode: o.ServicesPerNode, Services: len(w.services), Placements: w.placements(),
		Epochs: o.Epochs, EpochMS: o.Epoch.Milliseconds(), CatchupEntries: o.CatchupEntries}

	// Each phase runs under a pprof label (phase=…), inherited by the
	// servers' goroutines it starts, so --cpuprofile can be read by phase.
	// Phase 1: epochs, then a snapshot on the leader.
	var err2 error
	if !o.SkipEpochs {
		log.Info("epoch phase", "nodes", o.Nodes, "placements", res.Placements, "epochs", o.Epochs)
		pprof.Do(ctx, pprof.Labels("phase", "epochs"), func(ctx context.Context) {
			err2 = epochPhase(ctx, log, o, w, filepath.Join(dir, "epochs"), res)
		})
		if err := err2; err != nil {
			return res, fmt.Errorf("epoch phase: %w", err)
		}
	}
	if !o.SkipIngest {
		if err := ingestPhases(ctx, log, o, w, dir, res); err != nil {
			return res, err
		}
	}
	if o.EtcdBin != "" {
		log.Info("etcd phase", "bin", o.EtcdBin)
		edir := filepath.Join(dir, "etcd")
		if err := os.MkdirAll(edir, 0o700); err != nil {
			return res, err
		}
		e, err := runEtcd(ctx, log, o, edir)
		res.Etcd = e
		if err != nil {
			return res, fmt.Errorf("etcd phase: %w", err)
		}
	}
	return res, nil
}

// ingestPhases measures ingest and catch-up on fresh clusters with no epoch
// closing: Allot's defaults, then (with o.Baseline) group commit and
// redialling off.
func ingestPhases(ctx context.Context, log hclog.Logger, o Options, w workload, dir string, res *Result) error {
	var err error
	log.Info("ingest phase")
	var side Side
	pprof.Do(ctx, pprof.Labels("phase", "allot"), func(ctx context.Context) {
		side, err = sidePhase(ctx, log, o, w, filepath.Join(dir, "allot"), 0)
	})
	res.Allot = side
	res.IngestSinglePerS, res.IngestBatchPerS, res.IngestBatchP99MS, res.CatchupS = side.IngestSinglePerS, side.IngestBatchPerS, side.IngestBatchP99MS, side.CatchupS
	if err != nil {
		return fmt.Errorf("ingest phase: %w", err)
	}
	if o.Baseline {
		log.Info("baseline phase")
		var base Side
		pprof.Do(ctx, pprof.Labels("phase", "baseline"), func(ctx context.Context) {
			base, err = sidePhase(ctx, log, o, w, filepath.Join(dir, "baseline"), -1)
		})
		res.Baseline = &base
		if err != nil {
			return fmt.Errorf("baseline phase: %w", err)
		}
	}
	return nil
}

func epochPhase(ctx context.Context, log hclog.Logger, o Options, w workload, dir string, res *Result) error {
	f, err := startFleet(ctx, log, fleetOptions{dir: dir, raft: o.Raft, epoch: o.Epoch, nodes: w.nodes, capacity: capacity})
	if err != nil {
		return err
	}
	defer f.stop()
	if err := w.register(ctx, f.leader().client(nil)); err != nil {
		return err
	}
	rctx, stopRSS := context.WithCancel(ctx)
	rss := &rssSampler{}
	done := make(chan struct{})
	go func() { rss.run(rctx, time.Second); close(done) }()
	var load snapshotFigures
	var stallErrs []string // a stall measurement cut short by elections: reported, the run goes on
	fig, err := runEpochs(ctx, f, w, o, func() error {
		var err error
		load, err = measureStall(ctx, f, w, max(1, o.SnapshotRounds))
		if err != nil && ctx.Err() == nil {
			stallErrs = append(stallErrs, "under load: "+err.Error())
			return nil
		}
		return err
	})
	stopRSS()
	<-done
	res.RSSMB = rss.snapshot()
	res.RSSMBMax = fig.rssLast
	for _, v := range res.RSSMB {
		res.RSSMBMax = max(res.RSSMBMax, v)
	}
	res.RSSMBAfterWarm, res.RSSMBLast, res.HeapLiveMBLast = fig.rssAfterWarmup, fig.rssLast, fig.heapLive
	res.CommitMSP50, res.CommitMSP99 = round(percentile(fig.commitMS, 50), 1), round(percentile(fig.commitMS, 99), 1)
	res.SolveMSP50 = round(percentile(fig.solveMS, 50), 1)
	res.ClientBytesPerEpoch, res.ClientErrors, res.ClientError = fig.clientBytesPerEpoch, fig.clientErrors, fig.clientError
	if err != nil {
		return err
	}
	res.SnapshotMB, res.SnapshotWriteMS = load.snapshotMB, load.snapshotWriteMS
	res.SnapshotStall.Load = load.stall
	res.ApplyStallMSMax, res.WriteMSMaxNoSnapshot = load.stall.With.MaxMS, load.stall.Without.MaxMS
	if err := pauseEpochs(ctx, f, o.Epoch); err != nil {
		return err
	}
	quiet, err := measureStall(ctx, f, w, max(1, o.SnapshotRounds))
	res.SnapshotStall.Quiet = quiet.stall
	if err != nil && ctx.Err() == nil {
		stallErrs = append(stallErrs, "quiet: "+err.Error())
	} else if err != nil {
		return err
	}
	res.SnapshotStallError = strings.Join(stallErrs, "; ")
	if l := f.leader(); l != nil {
		res.RaftDBMB = round(float64(dirBytes(l.dataDir, "raft.db"))/(1<<20), 2)
	}
	if l := f.leader(); l != nil {
		fsmOf := l.srv.FSM()
		res.PlanHistoryMB = round(float64(fsmOf.PlanHistoryBytes())/(1<<20), 2)
		res.PlansKept = len(fsmOf.PlanEpochs())
		res.HeapLiveMBOneServer, res.RSSMBOneServer, res.MemoryOneServer = oneServer(f, l)
		if o.MemProfile != "" {
			if err := writeHeapProfile(o.MemProfile); err != nil {
				return err
			}
		}
	}
	return nil
}

// sidePhase starts a fleet with an hour-long epoch (no plan during the
// measurement) and the given group commit and redial settings (0: the
// defaults, -1: off), then measures ingest and catch-up.
func sidePhase(ctx context.Context, log hclog.Logger, o Options, w workload, dir string, knob time.Duration) (Side, error) {
	f, err := startFleet(ctx, log, fleetOptions{dir: dir, raft: o.Raft, epoch: time.Hour, batchWait: knob, redialEvery: knob, nodes: w.nodes, capacity: capacity})
	if err != nil {
		return Side{}, err
	}
	defer f.stop()
	if err := w.register(ctx, f.leader().client(nil)); err != nil {
		return Side{}, err
	}
	side, err := runIngest(ctx, f, w, o)
	if err != nil {
		return side, err
	}
	if side.CatchupS, side.CatchupRestartS, side.CatchupFirstS, err = catchup(ctx, f, w, o.CatchupEntries, false); err != nil {
		return side, err
	}
	side.CatchupSnapshotS, _, _, err = catchup(ctx, f, w, o.CatchupEntries, true)
	return side, err
}

func printText(w io.Writer, r *Result) {
	b, _ := json.MarshalIndent(r, "", "  ")
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "rss_mb")
	out, _ := json.MarshalIndent(m, "", "  ")
	fmt.Fprintf(w, "allot bench cluster: %d nodes × %d services = %d placements, %d epochs of %s\n%s\n",
		r.Nodes, r.ServicesPerNode, r.Placements, r.Epochs, time.Duration(r.EpochMS)*time.Millisecond, out)
}

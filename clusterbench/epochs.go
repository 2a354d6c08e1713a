package clusterbench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
)

// workload is who hosts what: node i runs services[(i*S+j) mod P], j < S,
// from a pool of P = max(S, N*S/10) services (each on about ten nodes).
type workload struct {
	nodes    []string
	services []bidding.Service
	perNode  int
}

func newWorkload(nodes, perNode int) workload {
	w := workload{perNode: perNode}
	for i := range nodes {
		w.nodes = append(w.nodes, fmt.Sprintf("node-%05d", i))
	}
	classes := []bidding.Class{bidding.ClassCritical, bidding.ClassStandard, bidding.ClassStandard, bidding.ClassBatch}
	for j := range max(perNode, nodes*perNode/10) {
		w.services = append(w.services, bidding.Service{Name: fmt.Sprintf("svc-%05d", j), Class: classes[j%len(classes)],
			Min: bidding.Vec{100, 64 << 20}, Max: bidding.Vec{4000, 8 << 30}})
	}
	return w
}

func (w workload) placements() int { return len(w.nodes) * w.perNode }

// capacity of every simulated node.
var capacity = bidding.Vec{16000, 64 << 30, 0, 0}

// bid is node i's bid for its j-th service in an epoch: medians that move
// every fourth epoch, staggered by node, so some slices change each epoch
// and some do not.
func (w workload) bid(i, j int, epoch uint64) bidding.Bid {
	step := (epoch + uint64(i)) / 4
	cpu := int64(200 + (uint64(i*31+j*17)+step*7)%50*20)
	return bidding.Bid{Service: w.services[(i*w.perNode+j)%len(w.services)].Name, Node: w.nodes[i], Epoch: epoch,
		Resources: map[string]bidding.Quantiles{
			"cpu":    {P50: cpu, P90: cpu * 3 / 2, P99: cpu * 2},
			"memory": {P50: 256 << 20, P90: 384 << 20, P99: 512 << 20},
		}}
}

func (w workload) nodeBids(i int, epoch uint64) []bidding.Bid {
	out := make([]bidding.Bid, w.perNode)
	for j := range out {
		out[j] = w.bid(i, j, epoch)
	}
	return out
}

// register puts every service through the leader's API (8 at a time).
func (w workload) register(ctx context.Context, c *api.Client) error {
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(w.services))
	var wg sync.WaitGroup
	for _, s := range w.services {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.RegisterService(ctx, s); err != nil {
				errs <- fmt.Errorf("registering %s: %w", s.Name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// epochFigures are what the epoch phase measures.
type epochFigures struct {
	plans               int
	commitMS, solveMS   []float64
	rssAfterWarmup      float64
	rssLast             float64
	heapLive            float64
	clientBytesPerEpoch float64
	clientErrors        int64
	clientError         string // the first
}

// runEpochs lets the simulated nodes watch their slices and bid once per
// plan until the leader has committed o.epochs plans, then runs during
// (when not nil) with the nodes still bidding and epochs still closing,
// and stops the nodes.
func runEpochs(ctx context.Context, f *fleet, w workload, o Options, during func() error) (epochFigures, error) {
	var fig epochFigures
	leader := f.leader()
	if leader == nil {
		return fig, fmt.Errorf("no leader")
	}
	first := leader.srv.FSM().SolveInputs().Epoch
	watchTr := &countingTransport{base: pooledTransport(len(w.nodes))}
	watchHC := &http.Client{Transport: watchTr, Timeout: 10 * time.Minute}
	bidHC := &http.Client{Transport: pooledTransport(len(w.nodes)), Timeout: time.Minute}
	var seen atomic.Int64 // slices received by all nodes
	var errs atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if errs.Add(1) == 1 {
			firstErr.Store(err.Error())
		}
	}

	cctx, stopClients := context.WithCancel(ctx)
	defer stopClients()
	var wg sync.WaitGroup
	for i := range w.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := f.servers[i%len(f.servers)]
			watch, bids := s.client(watchHC), s.client(bidHC)
			if _, err := bids.PutBids(cctx, w.nodeBids(i, first)); err != nil && cctx.Err() == nil {
				fail(err)
			}
			var idx uint64
			for cctx.Err() == nil {
				p, err := watch.WatchNodePlan(cctx, w.nodes[i], idx, 4*o.Epoch)
				if err != nil || p.Index <= idx {
					if err != nil && cctx.Err() == nil && !api.IsNotFound(err) {
						fail(err)
					}
					sleep(cctx, o.Epoch/10)
					continue
				}
				idx = p.Index
				seen.Add(1)
				if _, err := bids.PutBids(cctx, w.nodeBids(i, p.Epoch+1)); err != nil && cctx.Err() == nil {
					fail(err)
				}
			}
		}()
	}

	// The commit watcher: deadline (previous plan's created + epoch) to
	// applied on the leader's FSM, in this process.
	warmup := max(1, min(max(2, o.Epochs/5), o.Epochs-1)) // plans before the "after warm-up" figures
	fsmOf := leader.srv.FSM()
	var prev *bidding.Plan
	var bytesAtWarmup int64
	var seenAtWarmup int64
	deadline := time.Now().Add(time.Duration(o.Epochs+5)*o.Epoch*4 + 2*time.Minute)
	for fig.plans < o.Epochs {
		ch := fsmOf.PlanWatchCh()
		p, ok := fsmOf.LatestPlan()
		if ok && (prev == nil || p.Index != prev.Index) {
			now := time.Now()
			if prev != nil {
				fig.plans++
				due := prev.Created.Add(o.Epoch)
				fig.commitMS = append(fig.commitMS, ms(now.Sub(due)))
				fig.solveMS = append(fig.solveMS, p.Stats.SolveMS)
				if fig.plans == warmup {
					fig.rssAfterWarmup = rssMB()
					bytesAtWarmup, seenAtWarmup = watchTr.bytes.Load(), seen.Load()
				}
			}
			prev = &p
			continue
		}
		select {
		case <-ctx.Done():
			return fig, ctx.Err()
		case <-ch:
		case <-time.After(time.Until(deadline)):
			return fig, fmt.Errorf("only %d of %d plans within the bound", fig.plans, o.Epochs)
		}
	}
	fig.rssLast = rssMB()
	fig.heapLive = liveHeapMB()
	if seen.Load() == seenAtWarmup { // no plan after the warm-up (one epoch): count them all
		bytesAtWarmup, seenAtWarmup = 0, 0
	}
	if n := seen.Load() - seenAtWarmup; n > 0 {
		fig.clientBytesPerEpoch = round(float64(watchTr.bytes.Load()-bytesAtWarmup)/float64(n), 0)
	}
	var derr error
	if during != nil {
		derr = during()
	}
	stopClients()
	wg.Wait()
	// Stopped nodes hang up: their idle keep-alive connections would keep
	// a goroutine pair and buffers per connection alive on the servers,
	// counted in the leader-alone figures.
	watchHC.CloseIdleConnections()
	bidHC.CloseIdleConnections()
	fig.clientErrors = errs.Load()
	fig.clientError, _ = firstErr.Load().(string)
	return fig, derr
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

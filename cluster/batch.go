package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/raft"
)

// Group commit of bid writes (see DESIGN.md, "Group commit"): concurrent
// SubmitBids calls on the leader are gathered into one submit-bid-batch
// entry, so many requests cost one Raft entry, one disk commit and one
// decode per replica; every caller still gets its own answer and the index.

// Defaults of the group commit.
const (
	// DefaultBatchWait bounds how long a request waits for others while an
	// earlier batch is still being committed (an idle leader sends at once).
	DefaultBatchWait = 2 * time.Millisecond
	// DefaultBatchBids bounds the bids of one entry (~170 B each in msgpack:
	// ~0.7 MB); a single request with more still goes alone.
	DefaultBatchBids = 4096
	// aloneBids: a request of this many bids or more gains nothing from
	// sharing an entry (the per-bid costs dominate) and would only wait and
	// make the others wait: it is written as its own entry at once.
	aloneBids = 256
	// maxInflightBatches is how many batch entries may be in Raft at once
	// before a new one waits for the bound instead of going at once.
	maxInflightBatches = 1
)

type bidRequest struct {
	bids []bidding.Bid
	done chan bidAnswer // buffered: the batcher never blocks on a caller
}

type bidAnswer struct {
	index uint64
	err   error
}

// batcher gathers bid requests into entries.
type batcher struct {
	in       chan *bidRequest
	wait     time.Duration
	maxBids  int
	finished chan struct{} // one per committed batch entry
	entries  atomic.Uint64
	requests atomic.Uint64
}

// startBatcher starts the group commit unless cfg turns it off (a
// negative BatchWait); it stops with Shutdown.
func (s *Server) startBatcher(cfg Config) {
	if cfg.BatchWait < 0 {
		return
	}
	s.batch = &batcher{in: make(chan *bidRequest, 1024), wait: cfg.BatchWait, maxBids: cfg.BatchBids, finished: make(chan struct{}, 1)}
	if s.batch.wait == 0 {
		s.batch.wait = DefaultBatchWait
	}
	if s.batch.maxBids <= 0 {
		s.batch.maxBids = DefaultBatchBids
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopBatch = cancel
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.batchLoop(ctx) }()
}

// BatchStats counts the group commit: bid entries written and the requests
// they carried (requests/entries is the mean batch).
type BatchStats struct {
	Entries  uint64 `json:"entries"`
	Requests uint64 `json:"requests"`
}

// BatchStats returns the group commit's counters (zero when it is off).
func (s *Server) BatchStats() BatchStats {
	if s.batch == nil {
		return BatchStats{}
	}
	return BatchStats{Entries: s.batch.entries.Load(), Requests: s.batch.requests.Load()}
}

// SubmitBids commits one request's bids and returns the index of the entry
// that holds them. It fails with ErrNotLeader on a follower and with
// *RejectedError when the bids are refused against the leader's state:
// before the log (they never reach it) or, if the state changed in
// between, by the FSM. With the group commit off, or for a request of
// aloneBids or more, it is Apply of one submit-bids entry.
func (s *Server) SubmitBids(ctx context.Context, bids []bidding.Bid) (uint64, error) {
	if !s.IsLeader() {
		return 0, ErrNotLeader
	}
	if s.batch == nil || len(bids) >= aloneBids {
		if err := s.fsm.ValidateBids(bids); err != nil {
			return 0, &RejectedError{Err: err}
		}
		return s.Apply(ctx, fsm.CmdSubmitBids, fsm.SubmitBids{Bids: bids})
	}
	req := &bidRequest{bids: bids, done: make(chan bidAnswer, 1)}
	select {
	case s.batch.in <- req:
	case <-ctx.Done():
		return 0, fmt.Errorf("submitting bids: %w", ctx.Err())
	}
	select {
	case a := <-req.done:
		return a.index, a.err
	case <-ctx.Done():
		// The bids may still be committed, as with a timed-out Apply.
		return 0, fmt.Errorf("submitting bids: %w", ctx.Err())
	}
}

// batchLoop gathers requests until nothing is in flight, the wait bound
// passes or the batch is full, then hands the batch to commitBatch. It
// stops with ctx, answering what it holds with raft.ErrRaftShutdown.
func (s *Server) batchLoop(ctx context.Context) {
	b := s.batch
	var (
		pending  []*bidRequest
		nbids    int
		inflight int
		timer    = time.NewTimer(time.Hour)
		expired  bool
	)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			for _, r := range pending {
				r.done <- bidAnswer{err: raft.ErrRaftShutdown}
			}
			return
		case r := <-b.in:
			if len(pending) == 0 {
				timer.Reset(b.wait)
				expired = false
			}
			pending = append(pending, r)
			nbids += len(r.bids)
		case <-timer.C:
			expired = true
		case <-b.finished:
			inflight--
		}
		if len(pending) == 0 || (inflight >= maxInflightBatches && !expired && nbids < b.maxBids) {
			continue
		}
		// Take what is already queued, within the size bound.
	drain:
		for nbids < b.maxBids {
			select {
			case r := <-b.in:
				pending = append(pending, r)
				nbids += len(r.bids)
			default:
				break drain
			}
		}
		timer.Stop()
		inflight++
		batch := pending
		pending, nbids, expired = nil, 0, false
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.commitBatch(batch)
			select {
			case b.finished <- struct{}{}:
			case <-ctx.Done():
			}
		}()
	}
}

// commitBatch refuses the requests the leader's state refuses, writes the
// others as one entry (a lone request as plain submit-bids, which an older
// build also reads) and answers each.
func (s *Server) commitBatch(reqs []*bidRequest) {
	groups := make([][]bidding.Bid, len(reqs))
	for i, r := range reqs {
		groups[i] = r.bids
	}
	var ok []*bidRequest
	var payload fsm.SubmitBidBatch
	for i, err := range s.fsm.ValidateBidRequests(groups) {
		if err != nil {
			reqs[i].done <- bidAnswer{err: &RejectedError{Err: err}}
			continue
		}
		ok = append(ok, reqs[i])
		payload.Requests = append(payload.Requests, fsm.SubmitBids{Bids: groups[i]})
	}
	if len(ok) == 0 {
		return
	}
	t, v := fsm.CmdSubmitBidBatch, any(payload)
	if len(ok) == 1 {
		t, v = fsm.CmdSubmitBids, payload.Requests[0]
	}
	answerAll := func(a bidAnswer) {
		for _, r := range ok {
			r.done <- a
		}
	}
	data, err := fsm.Encode(t, v)
	if err != nil {
		answerAll(bidAnswer{err: err})
		return
	}
	f := s.raft.Apply(data, 10*time.Second)
	if err := f.Error(); err != nil {
		answerAll(bidAnswer{err: applyError(t, err)})
		return
	}
	s.batch.entries.Add(1)
	s.batch.requests.Add(uint64(len(ok)))
	idx := f.Index()
	switch res := f.Response().(type) {
	case *fsm.BatchResult:
		for i, r := range ok {
			a := bidAnswer{index: idx}
			if i < len(res.Errs) && res.Errs[i] != nil {
				a.err = &RejectedError{Err: res.Errs[i]}
			}
			r.done <- a
		}
	case error:
		answerAll(bidAnswer{index: idx, err: &RejectedError{Err: res}})
	default:
		answerAll(bidAnswer{index: idx})
	}
}

// applyError maps Raft's refusals to ErrNotLeader and wraps the rest.
func applyError(t fsm.CommandType, err error) error {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
		return ErrNotLeader
	}
	return fmt.Errorf("applying %s: %w", t, err)
}

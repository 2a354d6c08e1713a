//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checked history has two kinds of objects:
//   - one register per bid key (service, node, fixed epoch): put = PUT
//     /v1/bids with a unique p50, get = GET /v1/bids?consistent;
//   - the plan sequence: a read is GET /v1/plan?consistent and sees
//     (epoch, hash); epochs never go back and one epoch has one hash.
// Writes whose outcome is unknown (timeout, 5xx, connection cut) may or may
// not have happened: they stay open to the end of the history.

type opInput struct {
	Kind string // put | get | plan
	Key  string
	Val  int64
}

type opOutput struct {
	Val     int64
	Epoch   uint64
	Hash    string
	Unknown bool
}

type planState struct {
	Epoch uint64
	Hash  string
}

var model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(opInput).Key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return nil },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(opInput), output.(opOutput)
		switch in.Kind {
		case "put":
			return true, in.Val
		case "get":
			cur, _ := state.(int64)
			return out.Val == cur, state
		case "plan":
			cur, _ := state.(planState)
			if out.Epoch > cur.Epoch || (out.Epoch == cur.Epoch && out.Hash == cur.Hash) {
				return true, planState{out.Epoch, out.Hash}
			}
			return false, state
		}
		return false, state
	},
	Equal: func(a, b any) bool { return a == b },
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		switch in.Kind {
		case "put":
			if out.Unknown {
				return fmt.Sprintf("put(%s, %d) -> ?", in.Key, in.Val)
			}
			return fmt.Sprintf("put(%s, %d)", in.Key, in.Val)
		case "get":
			return fmt.Sprintf("get(%s) -> %d", in.Key, out.Val)
		}
		return fmt.Sprintf("plan -> epoch %d %s", out.Epoch, shortHash(out.Hash))
	},
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

const openEnd = int64(1) << 62

// Recorder keeps the history of one scenario.
type Recorder struct {
	t0     time.Time
	mu     sync.Mutex
	ops    []porcupine.Operation
	plans  map[uint64]string // epoch -> hash, every plan any read saw
	pidx   map[uint64]uint64 // epoch -> raft index of the plan
	errs   []string
	counts map[string]int
	slow   map[string]int // node -> operations that took over 1 s
	total  map[string]int // node -> operations sent
}

func newRecorder() *Recorder {
	return &Recorder{t0: time.Now(), plans: map[uint64]string{}, pidx: map[uint64]uint64{}, counts: map[string]int{}, slow: map[string]int{}, total: map[string]int{}}
}

func (r *Recorder) now() int64 { return time.Since(r.t0).Nanoseconds() }

func (r *Recorder) add(client int, in opInput, out opOutput, call, ret int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	k := in.Kind
	if out.Unknown {
		k += "?"
	}
	r.counts[k]++
}

// sent notes where an operation went and how long it took.
func (r *Recorder) sent(node string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total[node]++
	if took > time.Second {
		r.slow[node]++
	}
}

func (r *Recorder) sawPlan(p planOut) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.Epoch == 0 {
		return
	}
	if h, ok := r.plans[p.Epoch]; ok && h != p.Hash {
		r.errs = append(r.errs, fmt.Sprintf("epoch %d seen with two hashes: %s and %s", p.Epoch, h, p.Hash))
	}
	r.plans[p.Epoch] = p.Hash
	if i, ok := r.pidx[p.Epoch]; ok && i != p.Index && p.Index != 0 {
		r.errs = append(r.errs, fmt.Sprintf("epoch %d seen at two raft indexes: %d and %d", p.Epoch, i, p.Index))
	}
	if p.Index != 0 {
		r.pidx[p.Epoch] = p.Index
	}
}

// bidKey is one register: a bid for (service, node) at a fixed epoch.
type bidKey struct {
	Service, Node string
	Epoch         uint64
}

func (k bidKey) String() string { return fmt.Sprintf("%s/%s@%d", k.Service, k.Node, k.Epoch) }

// Load drives a bounded mix of operations against the up nodes.
type Load struct {
	c       Cluster
	rec     *Recorder
	keys    []bidKey
	workers int
	maxOps  int64
	nops    atomic.Int64
	val     atomic.Int64
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	rnd     *rand.Rand
	rmu     sync.Mutex
}

// startLoad begins the load; Stop ends it. keys use the current epoch.
func startLoad(t testing.TB, c Cluster, rec *Recorder, seed uint64) *Load {
	return startLoadN(t, c, rec, seed, 8)
}

// startLoadN is startLoad with n workers (more where a cut-off node makes
// every operation sent to it wait for its bounded refusal).
func startLoadN(t testing.TB, c Cluster, rec *Recorder, seed uint64, workers int) *Load {
	t.Helper()
	var e uint64
	for _, s := range upServers(c) {
		if p, err := latestPlan(c, s); err == nil && p.Epoch > e {
			e = p.Epoch
		}
	}
	l := &Load{c: c, rec: rec, workers: workers, maxOps: 20000, rnd: rand.New(rand.NewPCG(seed, 7))}
	// several epochs per (service, client): more registers, fewer
	// operations (and unknown outcomes) per register for porcupine
	for de := uint64(1); de <= 3; de++ {
		for _, svc := range testServices {
			for _, cl := range c.Clients() {
				l.keys = append(l.keys, bidKey{svc, cl, e + de})
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for w := 0; w < l.workers; w++ {
		l.wg.Add(1)
		go func(w int) { defer l.wg.Done(); l.worker(ctx, w) }(w)
	}
	return l
}

func (l *Load) pick(n int) int {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	return l.rnd.IntN(n)
}

// targets are the nodes a request may go to: up servers and clients.
func (l *Load) target() (string, bool) {
	var up []string
	for _, n := range append(append([]string{}, l.c.Servers()...), l.c.Clients()...) {
		if l.c.Up(n) {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		return "", false
	}
	return up[l.pick(len(up))], true
}

func (l *Load) worker(ctx context.Context, id int) {
	for ctx.Err() == nil && l.nops.Add(1) <= l.maxOps {
		node, ok := l.target()
		if !ok {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		t0 := time.Now()
		switch r := l.pick(10); {
		case r < 4:
			l.put(ctx, id, node, l.keys[l.pick(len(l.keys))])
		case r < 7:
			l.get(ctx, id, node, l.keys[l.pick(len(l.keys))])
		default:
			l.plan(ctx, id, node)
		}
		l.rec.sent(node, time.Since(t0))
		time.Sleep(time.Duration(10+l.pick(30)) * time.Millisecond)
	}
}

func bidBody(k bidKey, v int64) map[string]any {
	return map[string]any{"service": k.Service, "node": k.Node, "epoch": k.Epoch,
		"resources": map[string]any{"cpu": map[string]int64{"p50": v, "p90": v, "p99": v}}}
}

func (l *Load) put(ctx context.Context, client int, node string, k bidKey) {
	v := 1000 + l.val.Add(1)
	in := opInput{"put", k.String(), v}
	call := l.rec.now()
	// longer than the server's own bounded wait for a leader (5 s), so
	// that most writes end with a definite answer rather than unknown
	rctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	code, body, _, err := callWith(slowc, rctx, "PUT", l.c.HTTP(node), "/v1/bids", bidBody(k, v))
	cancel()
	ret := l.rec.now()
	switch {
	case err == nil && code == 200:
		l.rec.add(client, in, opOutput{}, call, ret)
	case err != nil && errors.Is(err, syscall.ECONNREFUSED):
		// never sent: it did not happen
	case err == nil && code >= 400 && code < 500:
		// refused before it reached the log: it did not happen
		l.rec.mu.Lock()
		l.rec.errs = append(l.rec.errs, fmt.Sprintf("bid refused with %d via %s: %s", code, node, strings.TrimSpace(string(body))))
		l.rec.mu.Unlock()
	default:
		l.rec.add(client, in, opOutput{Unknown: true}, call, openEnd)
	}
}

func (l *Load) get(ctx context.Context, client int, node string, k bidKey) {
	call := l.rec.now()
	v, err := readBid(ctx, l.c.HTTP(node), k)
	ret := l.rec.now()
	if err == nil {
		l.rec.add(client, opInput{"get", k.String(), 0}, opOutput{Val: v}, call, ret)
	}
}

func readBid(ctx context.Context, addr string, k bidKey) (int64, error) {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	code, body, _, err := call2(rctx, "GET", addr, "/v1/bids?consistent&service="+k.Service, nil)
	if err != nil || code != 200 {
		return 0, fmt.Errorf("read: %d %v", code, err)
	}
	var bids []struct {
		Node      string `json:"node"`
		Epoch     uint64 `json:"epoch"`
		Resources map[string]struct {
			P50 int64 `json:"p50"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(body, &bids); err != nil {
		return 0, err
	}
	for _, b := range bids {
		if b.Node == k.Node && b.Epoch == k.Epoch {
			return b.Resources["cpu"].P50, nil
		}
	}
	return 0, nil
}

func (l *Load) plan(ctx context.Context, client int, node string) {
	call := l.rec.now()
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	code, body, _, err := call2(rctx, "GET", l.c.HTTP(node), "/v1/plan?consistent", nil)
	cancel()
	ret := l.rec.now()
	if err != nil {
		return
	}
	var p planOut
	switch code {
	case 200:
		if json.Unmarshal(body, &p) != nil {
			return
		}
	case 404:
	default:
		return
	}
	l.rec.sawPlan(p)
	l.rec.add(client, opInput{"plan", "plan", 0}, opOutput{Epoch: p.Epoch, Hash: p.Hash}, call, ret)
}

func call2(ctx context.Context, method, addr, path string, body any) (int, []byte, uint64, error) {
	return call(ctx, method, addr, path, body)
}

// Stop ends the load and waits for the workers.
func (l *Load) Stop() {
	l.cancel()
	l.wg.Wait()
}

// finish heals nothing itself: call it once every node that should be up is
// up. It makes a final consistent read of every key and the plan (recorded),
// checks the history with porcupine and the cross-node invariants.
func (l *Load) finish(t testing.TB) {
	t.Helper()
	l.Stop()
	c, rec := l.c, l.rec
	lead := waitLeader(t, c, 60*time.Second)
	ctx := context.Background()
	for _, k := range l.keys {
		var err error
		for i := 0; i < 20; i++ {
			call := rec.now()
			var v int64
			if v, err = readBid(ctx, c.HTTP(lead), k); err == nil {
				rec.add(99, opInput{"get", k.String(), 0}, opOutput{Val: v}, call, rec.now())
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("final read of %s: %v", k, err)
		}
	}
	l.plan(ctx, 99, lead)
	checkHistory(t, rec)
	checkConverged(t, c, rec, l.keys)
}

func checkHistory(t testing.TB, rec *Recorder) {
	t.Helper()
	rec.mu.Lock()
	ops := append([]porcupine.Operation(nil), rec.ops...)
	errs := append([]string(nil), rec.errs...)
	counts := fmt.Sprint(rec.counts)
	sent := fmt.Sprintf("sent %v, over 1 s %v", rec.total, rec.slow)
	rec.mu.Unlock()
	t.Logf("history: %d operations %s, %d plan epochs seen; %s", len(ops), counts, len(rec.plans), sent)
	for _, e := range errs {
		if strings.Contains(e, "two hashes") || strings.Contains(e, "two raft indexes") {
			t.Errorf("%s", e)
		} else {
			t.Logf("note: %s", e)
		}
	}
	if rec.counts["put"] == 0 || rec.counts["get"] == 0 || rec.counts["plan"] == 0 {
		t.Errorf("the load recorded too little to check: %s", counts)
	}
	res, info := porcupine.CheckOperationsVerbose(model, ops, 2*time.Minute)
	switch res {
	case porcupine.Ok:
		t.Logf("porcupine: history of %d operations is linearizable", len(ops))
	case porcupine.Illegal:
		_ = os.MkdirAll("out", 0o755)
		path := filepath.Join("out", sanitize(t.Name())+"-history.html")
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(model, info, f)
			f.Close()
		}
		t.Errorf("porcupine: history is NOT linearizable (visualisation: e2e/%s)", path)
	default:
		t.Errorf("porcupine: check timed out (%s)", res)
	}
}

// checkConverged waits until every up server has applied the latest plan
// seen, then checks that every server holds every plan epoch seen with the
// same hash, and the same value for every bid key: nothing committed is lost.
func checkConverged(t testing.TB, c Cluster, rec *Recorder, keys []bidKey) {
	t.Helper()
	rec.mu.Lock()
	var max uint64
	epochs := make([]uint64, 0, len(rec.plans))
	for e := range rec.plans {
		epochs = append(epochs, e)
		if e > max {
			max = e
		}
	}
	plans := map[uint64]string{}
	for e, h := range rec.plans {
		plans[e] = h
	}
	rec.mu.Unlock()
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })
	lead := waitLeader(t, c, 30*time.Second)
	want := map[bidKey]int64{}
	for _, k := range keys {
		v, err := readBid(context.Background(), c.HTTP(lead), k)
		if err != nil {
			t.Fatalf("reading %s on the leader: %v", k, err)
		}
		want[k] = v
	}
	for _, s := range upServers(c) {
		end := time.Now().Add(30 * time.Second)
		for {
			p, err := latestPlan(c, s)
			if err == nil && p.Epoch >= max {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%s did not catch up to epoch %d within 30 s (at %+v, %v)\n%s", s, max, p, err, tails(c))
			}
			time.Sleep(200 * time.Millisecond)
		}
		// the state check ran after every plan and found no replica diverged
		if n, err := divergences(c.HTTP(s)); err != nil || n != 0 {
			t.Errorf("%s: %d state divergences (%v)\n%s", s, n, err, tails(c))
		}
		// every plan seen (sampled to at most 300 epochs) is there, unchanged
		step := len(epochs)/300 + 1
		for i := 0; i < len(epochs); i += step {
			e := epochs[i]
			var p planOut
			if err := getJSON(c.HTTP(s), fmt.Sprintf("/v1/plan?epoch=%d", e), &p); err != nil {
				t.Errorf("%s: plan of epoch %d lost: %v", s, e, err)
				continue
			}
			if p.Hash != plans[e] {
				t.Errorf("%s: plan of epoch %d has hash %s, clients saw %s", s, e, p.Hash, plans[e])
			}
		}
		for _, k := range keys {
			var bids []struct {
				Node      string `json:"node"`
				Epoch     uint64 `json:"epoch"`
				Resources map[string]struct {
					P50 int64 `json:"p50"`
				} `json:"resources"`
			}
			if err := getJSON(c.HTTP(s), "/v1/bids?service="+k.Service, &bids); err != nil {
				t.Errorf("%s: bids: %v", s, err)
				continue
			}
			var got int64
			for _, b := range bids {
				if b.Node == k.Node && b.Epoch == k.Epoch {
					got = b.Resources["cpu"].P50
				}
			}
			if got != want[k] {
				t.Errorf("%s: bid %s is %d, the leader has %d", s, k, got, want[k])
			}
		}
	}
	// plan epochs in raft index order only go forward
	rec.mu.Lock()
	type ei struct{ e, i uint64 }
	var pairs []ei
	for e, i := range rec.pidx {
		pairs = append(pairs, ei{e, i})
	}
	rec.mu.Unlock()
	sort.Slice(pairs, func(a, b int) bool { return pairs[a].i < pairs[b].i })
	for i := 1; i < len(pairs); i++ {
		if pairs[i].e <= pairs[i-1].e {
			t.Errorf("plan epochs went back in log order: epoch %d at index %d after epoch %d at index %d", pairs[i].e, pairs[i].i, pairs[i-1].e, pairs[i-1].i)
		}
	}
}

// divergences is a server's count of state checks that disagreed with the
// leader's (allot_state_divergences_total on /metrics).
func divergences(addr string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	code, b, _, err := call(ctx, "GET", addr, "/metrics", nil)
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("GET /metrics: %d", code)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "allot_state_divergences_total "); ok {
			var n float64
			_, err := fmt.Sscan(rest, &n)
			return uint64(n), err
		}
	}
	return 0, fmt.Errorf("/metrics has no allot_state_divergences_total")
}

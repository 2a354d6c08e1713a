package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
)

func (s *Server) statusLeader(w http.ResponseWriter, r *http.Request) error {
	if s.cluster == nil {
		for _, m := range s.agent.Members() {
			if m.Server && m.Status == gossip.StatusAlive {
				return s.forwardToAnyServer(w, r)
			}
		}
		return fmt.Errorf("%w: this client knows no live server", errNoLeader)
	}
	addr, id := s.cluster.Leader()
	if id == "" {
		return fmt.Errorf("%w: none known", errNoLeader)
	}
	name := ""
	if m, ok := s.cluster.FSM().Member(id); ok {
		name = m.Name
	}
	if name == "" {
		for _, m := range s.agent.Members() {
			if m.ID == id {
				name = m.Name
			}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"id": id, "name": name, "address": addr})
}

func (s *Server) statusPeers(w http.ResponseWriter, r *http.Request) error {
	if s.cluster == nil {
		return s.forwardToAnyServer(w, r)
	}
	peers, err := s.cluster.Peers()
	if err != nil {
		return err
	}
	if peers == nil {
		peers = []cluster.Peer{}
	}
	return writeJSON(w, http.StatusOK, peers)
}

func (s *Server) raftConfigured(w http.ResponseWriter, r *http.Request) error {
	ok := s.cluster != nil && s.cluster.HasConfiguration()
	return writeJSON(w, http.StatusOK, map[string]bool{"configured": ok})
}

func (s *Server) agentSelf(w http.ResponseWriter, r *http.Request) error {
	self := s.agent.Self()
	out := map[string]any{"agent": self}
	if s.cluster != nil {
		_, lid := s.cluster.Leader()
		out["leader_id"] = lid
		out["raft"] = s.cluster.Stats()
	}
	return writeJSON(w, http.StatusOK, out)
}

// MemberView is one gossip member as the API shows it.
type MemberView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Role     string `json:"role"`
	Status   string `json:"status"`
	RaftAddr string `json:"raft_addr,omitempty"`
	HTTPAddr string `json:"http_addr,omitempty"`
	Version  string `json:"version,omitempty"`
}

func (s *Server) agentMembers(w http.ResponseWriter, r *http.Request) error {
	out := []MemberView{}
	for _, m := range s.agent.Members() {
		out = append(out, MemberView{ID: m.ID, Name: m.Name, Address: m.Addr, Role: m.Role(), Status: m.Status, RaftAddr: m.RaftAddr, HTTPAddr: m.HTTPAddr, Version: m.Version})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) agentJoin(w http.ResponseWriter, r *http.Request) error {
	addrs := r.URL.Query()["address"]
	if len(addrs) == 0 {
		return badRequest("address: at least one ?address=HOST:PORT is required")
	}
	for _, a := range addrs {
		if a == "" || strings.ContainsAny(a, " /") {
			return badRequest("address: %q is not HOST:PORT", a)
		}
	}
	n, err := s.agent.Join(addrs)
	if err != nil {
		return badRequest("address: %v", err)
	}
	return writeJSON(w, http.StatusOK, map[string]int{"joined": n})
}

func (s *Server) agentLeave(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.agent.Leave(ctx); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"left": true})
}

// ServiceView is a service with its allocations in the latest plan.
type ServiceView struct {
	bidding.Service
	Boost       *bidding.Boost       `json:"boost,omitempty"`
	Allocations []bidding.Allocation `json:"allocations"`
	PlanEpoch   uint64               `json:"plan_epoch"`
}

func (s *Server) services() []ServiceView {
	f := s.fsm()
	plan, _ := f.LatestPlan()
	boosts := map[string]bidding.Boost{}
	for _, b := range f.Boosts() {
		boosts[b.Service] = b
	}
	out := []ServiceView{}
	for _, sv := range f.Services() {
		v := ServiceView{Service: sv, Allocations: []bidding.Allocation{}, PlanEpoch: plan.Epoch}
		if b, ok := boosts[sv.Name]; ok {
			v.Boost = &b
		}
		for _, a := range plan.Allocations {
			if a.Service == sv.Name {
				v.Allocations = append(v.Allocations, a)
			}
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.services())
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	for _, v := range s.services() {
		if v.Name == name {
			return writeJSON(w, http.StatusOK, v)
		}
	}
	return notFound("service %q is not registered", name)
}

func (s *Server) putService(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var sv bidding.Service
	if err := decodeBody(r, &sv); err != nil {
		return err
	}
	name := r.PathValue("name")
	if sv.Name == "" {
		sv.Name = name
	}
	if sv.Name != name {
		return badRequest("name: %q in the body differs from %q in the path", sv.Name, name)
	}
	if sv.Class == "" {
		sv.Class = bidding.ClassStandard
	}
	if err := sv.ValidateNew(); err != nil {
		return badRequest("%v", err)
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		idx, err := s.cluster.Apply(ctx, fsm.CmdRegisterService, fsm.RegisterService{Service: sv})
		return map[string]any{"index": idx, "service": sv.Name}, err
	})
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, ok := s.fsm().Service(name); !ok && s.cluster.IsLeader() {
		return notFound("service %q is not registered", name)
	}
	return s.write(w, r, nil, func(ctx context.Context) (any, error) {
		if _, ok := s.fsm().Service(name); !ok {
			return nil, notFound("service %q is not registered", name)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdDeregisterService, fsm.DeregisterService{Name: name})
		return map[string]any{"index": idx}, err
	})
}

func (s *Server) listBids(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.consistent(w, r); done || err != nil {
		return err
	}
	bids := s.fsm().Bids()
	if svc := r.URL.Query().Get("service"); svc != "" {
		var f []bidding.Bid
		for _, b := range bids {
			if b.Service == svc {
				f = append(f, b)
			}
		}
		bids = f
	}
	if bids == nil {
		bids = []bidding.Bid{}
	}
	return writeJSON(w, http.StatusOK, bids)
}

// MaxBidsPerRequest bounds one PUT /v1/bids.
const MaxBidsPerRequest = 10000

func (s *Server) putBids(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var bids []bidding.Bid
	trim := strings.TrimSpace(string(body))
	if strings.HasPrefix(trim, "[") {
		err = decodeBody(r, &bids)
	} else {
		var one bidding.Bid
		err = decodeBody(r, &one)
		bids = []bidding.Bid{one}
	}
	if err != nil {
		return err
	}
	if len(bids) == 0 {
		return badRequest("body: no bids")
	}
	if len(bids) > MaxBidsPerRequest {
		return badRequest("body: %d bids, at most %d per request", len(bids), MaxBidsPerRequest)
	}
	if err := checkBidScope(r.Context(), bids); err != nil {
		return err
	}
	for i := range bids {
		if err := bids[i].Validate(); err != nil {
			if len(bids) == 1 {
				return badRequest("%v", err)
			}
			return badRequest("bids[%d].%v", i, err)
		}
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		defaultBidEpochs(s.fsm(), bids)
		var idx uint64
		if bs, ok := s.cluster.(bidSubmitter); ok {
			// The leader's group commit validates and batches (cluster/batch.go).
			idx, err = bs.SubmitBids(ctx, bids)
		} else {
			// Against the leader's state, so nothing invalid reaches the log.
			if err := s.fsm().ValidateBids(bids); err != nil {
				return nil, badRequest("%v", err)
			}
			idx, err = s.cluster.Apply(ctx, fsm.CmdSubmitBids, fsm.SubmitBids{Bids: bids})
		}
		s.metrics.BidsReceived(len(bids))
		return map[string]any{"index": idx, "bids": len(bids)}, err
	})
}

// bidSubmitter is a cluster that commits bids itself, batching concurrent
// requests into one entry (cluster.Server.SubmitBids).
type bidSubmitter interface {
	SubmitBids(ctx context.Context, bids []bidding.Bid) (uint64, error)
}

// MaxWait caps a blocking query.
const MaxWait = 5 * time.Minute

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.consistent(w, r); done || err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Has("node") {
		return s.getNodePlan(w, r, q.Get("node"))
	}
	f := s.fsm()
	if e := q.Get("epoch"); e != "" {
		n, err := strconv.ParseUint(e, 10, 64)
		if err != nil {
			return badRequest("epoch: %q is not a non-negative integer", e)
		}
		p, ok := f.Plan(n)
		if !ok {
			eps := f.PlanEpochs()
			if len(eps) == 0 {
				return notFound("epoch: no plan committed yet")
			}
			return notFound("epoch: no plan for epoch %d (kept: %d to %d)", n, eps[0], eps[len(eps)-1])
		}
		return writeJSON(w, http.StatusOK, planView(p))
	}
	if is := q.Get("index"); is != "" {
		idx, err := strconv.ParseUint(is, 10, 64)
		if err != nil {
			return badRequest("index: %q is not a non-negative integer", is)
		}
		wait, err := waitParam(q.Get("wait"))
		if err != nil {
			return err
		}
		timer := time.NewTimer(remainingWait(r, wait))
		defer timer.Stop()
		for f.PlanIndex() <= idx {
			ch := f.PlanWatchCh()
			if f.PlanIndex() > idx {
				break
			}
			select {
			case <-ch:
				continue
			case <-timer.C:
			case <-r.Context().Done():
				return r.Context().Err()
			}
			break
		}
		s.setIndexHeaders(w)
	}
	p, ok := f.LatestPlan()
	if !ok {
		return notFound("no plan committed yet")
	}
	return writeJSON(w, http.StatusOK, planView(p))
}

// explainer is implemented by *cluster.Server: the leader keeps its latest
// plan's explanations in memory (optional, so test fakes need not have it).
type explainer interface {
	Explanation(service string) (bidding.Plan, []bidding.Explanation, error)
}

// explain answers why a service got what it got in the latest plan. The
// explanations are only in the leader's memory, so the request is served
// on the leader: a follower forwards it (as it forwards writes), and a
// leader without them (elected after the latest plan) answers 503 naming
// the epoch and when the next plan comes.
func (s *Server) explain(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("service")
	if err := bidding.ValidateName("service", name); err != nil {
		return badRequest("%v", err)
	}
	return s.write(w, r, nil, func(context.Context) (any, error) {
		f := s.fsm()
		if _, ok := f.LatestPlan(); !ok {
			return nil, notFound("no plan committed yet")
		}
		if _, reg := f.Service(name); !reg {
			return nil, notFound("service %q is not registered", name)
		}
		ex, ok := s.cluster.(explainer)
		if !ok {
			return nil, &httpError{code: http.StatusServiceUnavailable, err: errors.New("this server keeps no explanations")}
		}
		p, out, err := ex.Explanation(name)
		if errors.Is(err, cluster.ErrNoExplanation) {
			return nil, &httpError{code: http.StatusServiceUnavailable, err: err}
		}
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = []bidding.Explanation{}
		}
		allocs := []bidding.Allocation{}
		for _, a := range p.Allocations {
			if a.Service == name {
				allocs = append(allocs, a)
			}
		}
		v := ExplainView{Service: name, Epoch: p.Epoch, Hash: p.Hash, Allocations: allocs, Placements: out, Nodes: p.Nodes}
		for _, b := range f.Boosts() {
			if b.Service == name && p.Epoch >= b.StartEpoch && p.Epoch < b.ExpireEpoch() {
				v.Boost = &b // the boost that weighed in this plan (its factor there is the placements' boost)
			}
		}
		return v, nil
	})
}

// ExplainView is the answer of GET /v1/plan/explain/{service}: why the
// service got what it got in the latest plan, and the boost in force then
// (its factor as asked and its reason; the placements' boost is the factor
// the plan used, after decay and the cluster's boost cap).
type ExplainView struct {
	Service     string                `json:"service"`
	Epoch       uint64                `json:"epoch"`
	Hash        string                `json:"hash"`
	Allocations []bidding.Allocation  `json:"allocations"`
	Placements  []bidding.Explanation `json:"placements"`
	Nodes       []bidding.NodePlan    `json:"nodes"`
	Boost       *bidding.Boost        `json:"boost,omitempty"`
}

func (s *Server) listBoosts(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.fsm().Boosts())
}

// MinBoostTTL is the shortest boost a request may ask for.
const MinBoostTTL = time.Second

// BoostRequest is the body of PUT /v1/boost/{service}.
type BoostRequest struct {
	Factor float64 `json:"factor"`
	TTL    string  `json:"ttl"`
	Reason string  `json:"reason"`
}

func (s *Server) putBoost(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req BoostRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	name := r.PathValue("service")
	if math.IsNaN(req.Factor) || req.Factor < 1 || req.Factor > bidding.MaxBoost {
		return badRequest("factor: %v is outside [1, %v]", req.Factor, bidding.MaxBoost)
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil || ttl <= 0 {
		return badRequest("ttl: %.40q is not a positive duration such as 15m", req.TTL)
	}
	if ttl < MinBoostTTL {
		// A boost lasts whole epochs; a 1ns one used to be taken as one epoch.
		return badRequest("ttl: %s is below the shortest boost, %s (a boost lasts whole epochs)", ttl, MinBoostTTL)
	}
	return s.write(w, r, body, func(ctx context.Context) (any, error) {
		f := s.fsm()
		if _, ok := f.Service(name); !ok {
			return nil, badRequest("service: %q is not registered", name)
		}
		st, _ := f.Settings()
		epochs := uint64(math.Ceil(float64(ttl.Milliseconds()) / float64(st.EpochMS)))
		if epochs < 1 {
			epochs = 1
		}
		start := f.SolveInputs().Epoch
		b := bidding.Boost{Service: name, Factor: req.Factor, StartEpoch: start, TTLEpochs: epochs, Reason: req.Reason}
		if err := b.Validate(); err != nil {
			return nil, badRequest("%v", err)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdSetBoost, fsm.SetBoost{Boost: b})
		return map[string]any{"index": idx, "boost": b}, err
	})
}

func (s *Server) deleteBoost(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("service")
	if err := bidding.ValidateName("service", name); err != nil {
		return badRequest("%v", err)
	}
	return s.write(w, r, nil, func(ctx context.Context) (any, error) {
		// Checked on the leader against its state, so a refused clear never
		// reaches the log (it used to answer 400 after writing an entry).
		if !slices.ContainsFunc(s.fsm().Boosts(), func(b bidding.Boost) bool { return b.Service == name }) {
			return nil, notFound("service %q has no boost", name)
		}
		idx, err := s.cluster.Apply(ctx, fsm.CmdClearBoost, fsm.ClearBoost{Service: name})
		return map[string]any{"index": idx}, err
	})
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.fsm().Members())
}

// getSettings answers the negotiation settings in force: the epoch length,
// bid TTL, plan history and the solver options a leader replicated (the
// defaults until one has), so clients bid with the cluster's deadband.
func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	st, _ := s.fsm().Settings()
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) removePeer(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	if id == "" {
		return badRequest("id: required")
	}
	return s.write(w, r, nil, func(ctx context.Context) (any, error) {
		err := s.cluster.RemovePeer(ctx, id)
		return map[string]any{"removed": id}, err
	})
}

// errorBody is the JSON error shape.
type errorBody struct {
	Error string `json:"error"`
}

// DecodeError extracts the message of a JSON error body.
func DecodeError(b []byte) error {
	var e errorBody
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return errors.New(strings.TrimSpace(string(b)))
}

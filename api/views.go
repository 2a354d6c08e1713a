package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/cluster"
)

// Read views the operator UI needs that no other endpoint gives: a
// service's allocations over the kept plans, and the Raft peers with their
// state and how far each lags.

// AllocationPoint is one placement's allocation in one kept plan, in base
// units (millicores, bytes, bytes/s, bits/s).
type AllocationPoint struct {
	Epoch   uint64    `json:"epoch"`
	Created time.Time `json:"created"`
	Node    string    `json:"node"`
	CPU     int64     `json:"cpu"`
	Memory  int64     `json:"memory"`
	IO      int64     `json:"io"`
	Net     int64     `json:"net"`
}

// AllocationHistory is the answer of GET /v1/plan/history/{service}: the
// service's allocations in every kept plan, oldest first (a plan that gave
// it nothing has no point).
type AllocationHistory struct {
	Service string            `json:"service"`
	Epochs  []uint64          `json:"epochs"` // the kept plans' epochs
	Points  []AllocationPoint `json:"points"`
}

func (s *Server) getAllocationHistory(w http.ResponseWriter, r *http.Request) error {
	if done, err := s.consistent(w, r); done || err != nil {
		return err
	}
	name := r.PathValue("service")
	f := s.fsm()
	if _, ok := f.Service(name); !ok {
		return notFound("service %q is not registered", name)
	}
	out := AllocationHistory{Service: name, Epochs: []uint64{}, Points: []AllocationPoint{}}
	// Newest first in one walk of the compact history, then put in order.
	f.EachPlan(func(p bidding.Plan) bool {
		out.Epochs = append(out.Epochs, p.Epoch)
		for _, a := range p.Allocations {
			if a.Service == name {
				out.Points = append(out.Points, AllocationPoint{Epoch: p.Epoch, Created: p.Created, Node: a.Node, CPU: a.CPU, Memory: a.Memory, IO: a.IO, Net: a.Net})
			}
		}
		return true
	})
	slices.Reverse(out.Epochs)
	sort.SliceStable(out.Points, func(i, j int) bool { return out.Points[i].Epoch < out.Points[j].Epoch })
	return writeJSON(w, http.StatusOK, out)
}

// RaftPeerStatus is one Raft peer with what it said of itself.
type RaftPeerStatus struct {
	cluster.Peer
	// State: "leader", "follower", "candidate" or "unreachable" (the
	// peer's API did not answer; Error says why).
	State        string `json:"state"`
	AppliedIndex uint64 `json:"applied_index"`
	// Lag is how many entries the peer has applied fewer than the leader
	// (or than the most advanced peer when the leader did not answer).
	Lag   uint64 `json:"lag"`
	Error string `json:"error,omitempty"`
}

// RaftStatus is the answer of GET /v1/status/raft.
type RaftStatus struct {
	Server string           `json:"server"` // the server that asked its peers
	Term   string           `json:"term"`
	Peers  []RaftPeerStatus `json:"peers"`
}

// peerAskTimeout bounds how long the status waits for one peer's answer.
const peerAskTimeout = time.Second

func (s *Server) statusRaft(w http.ResponseWriter, r *http.Request) error {
	if s.cluster == nil {
		return s.forwardToAnyServer(w, r)
	}
	peers, err := s.cluster.Peers()
	if err != nil {
		return err
	}
	stats := s.cluster.Stats()
	out := RaftStatus{Server: s.agent.Self().Name, Term: stats["term"], Peers: make([]RaftPeerStatus, len(peers))}
	self := s.agent.Self().ID
	var wg sync.WaitGroup
	for i, p := range peers {
		out.Peers[i].Peer = p
		if p.ID == self {
			out.Peers[i].State = strings.ToLower(stats["state"])
			out.Peers[i].AppliedIndex = s.fsm().Index()
			continue
		}
		wg.Add(1)
		go func(ps *RaftPeerStatus) {
			defer wg.Done()
			s.askPeer(r.Context(), ps)
		}(&out.Peers[i])
	}
	wg.Wait()
	var ref uint64
	for _, p := range out.Peers {
		if p.Leader && p.State != "unreachable" {
			ref = p.AppliedIndex
		}
	}
	if ref == 0 {
		for _, p := range out.Peers {
			ref = max(ref, p.AppliedIndex)
		}
	}
	for i := range out.Peers {
		if p := &out.Peers[i]; p.State != "unreachable" && ref > p.AppliedIndex {
			p.Lag = ref - p.AppliedIndex
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// askPeer fills a peer's state and applied index from its
// GET /v1/internal/index.
func (s *Server) askPeer(ctx context.Context, p *RaftPeerStatus) {
	p.State = "unreachable"
	addr := s.httpAddrOf(p.ID)
	if addr == "" {
		p.Error = "no known HTTP address"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, peerAskTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", s.scheme+"://"+addr+"/v1/internal/index", nil)
	if err != nil {
		p.Error = err.Error()
		return
	}
	req.Header.Set(headerForwarded, "1")
	resp, err := s.client.Do(req)
	if err != nil {
		p.Error = fmt.Sprintf("asking %s: %v", addr, err)
		return
	}
	defer resp.Body.Close()
	var ans struct {
		Index  uint64 `json:"index"`
		Leader bool   `json:"leader"`
		State  string `json:"state"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ans) != nil {
		p.Error = fmt.Sprintf("asking %s: HTTP %d", addr, resp.StatusCode)
		return
	}
	p.AppliedIndex = ans.Index
	switch {
	case ans.State != "":
		p.State = strings.ToLower(ans.State)
	case ans.Leader:
		p.State = "leader"
	default:
		p.State = "follower"
	}
}

// AllocationHistory reads a service's allocations over the kept plans.
func (c *Client) AllocationHistory(ctx context.Context, service string) (AllocationHistory, error) {
	var h AllocationHistory
	if _, err := c.Do(ctx, "GET", "/v1/plan/history/"+url.PathEscape(service), nil, &h); err != nil {
		return AllocationHistory{}, fmt.Errorf("reading the allocation history of %s: %w", service, err)
	}
	return h, nil
}

// RaftStatus reads the Raft peers with their state and lag.
func (c *Client) RaftStatus(ctx context.Context) (RaftStatus, error) {
	var st RaftStatus
	if _, err := c.Do(ctx, "GET", "/v1/status/raft", nil, &st); err != nil {
		return RaftStatus{}, fmt.Errorf("reading the raft status: %w", err)
	}
	return st, nil
}

package cluster

import (
	"context"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/raft"
)

// reconcileLoop brings gossip members into the Raft configuration and the
// member records: on every nudge and every few seconds (a full pass).
func (s *Server) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		s.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.events:
		}
	}
}

func (s *Server) reconcile(ctx context.Context) {
	if s.members == nil {
		return
	}
	members := s.members.Members()
	records := map[string]fsm.Member{}
	for _, m := range s.fsm.Members() {
		records[m.ID] = m
	}
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return
	}
	inRaft := map[string]raft.Server{}
	for _, sv := range cf.Configuration().Servers {
		inRaft[string(sv.ID)] = sv
	}
	for _, m := range members {
		if ctx.Err() != nil {
			return
		}
		rec := fsm.Member{ID: m.ID, Name: m.Name, Server: m.Server, Client: m.Client, RaftAddr: m.RaftAddr,
			HTTPAddr: m.HTTPAddr, GossipAddr: m.Addr, Version: m.Version, Status: m.Status, Capacity: bidding.Vec(m.Capacity)}
		if old, ok := records[m.ID]; !ok || old != rec {
			if _, err := s.Apply(ctx, fsm.CmdUpsertMember, fsm.UpsertMember{Member: rec}); err != nil {
				s.log.Warn("could not record member", "node", m.Name, "error", err)
			}
		}
		if !m.Server || m.RaftAddr == "" {
			continue
		}
		cur, ok := inRaft[m.ID]
		switch m.Status {
		case gossip.StatusAlive:
			if !ok || string(cur.Address) != m.RaftAddr {
				s.log.Info("adding server to raft", "node", m.Name, "address", m.RaftAddr)
				if err := s.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, 10*time.Second).Error(); err != nil {
					s.log.Warn("could not add server", "node", m.Name, "error", err)
				}
			}
		case gossip.StatusLeft:
			if ok && m.ID != s.cfg.ID {
				s.log.Info("removing server that left", "node", m.Name)
				if err := s.raft.RemoveServer(raft.ServerID(m.ID), 0, 10*time.Second).Error(); err != nil {
					s.log.Warn("could not remove server", "node", m.Name, "error", err)
				}
			}
		}
	}
}

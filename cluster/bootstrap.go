package cluster

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/raft"
)

// bootstrapLoop bootstraps the cluster exactly once: only when this server
// has no Raft state, only when BootstrapExpect servers are visible in gossip,
// and only when none of them already has a configuration (then the leader
// adds us instead). Every server that sees the same set bootstraps with the
// same configuration, so concurrent bootstraps agree; ErrCantBootstrap is harmless.
func (s *Server) bootstrapLoop(ctx context.Context) {
	expect := s.cfg.BootstrapExpect
	if expect <= 0 {
		return
	}
	if s.HasConfiguration() {
		s.log.Info("existing raft state found, not bootstrapping")
		return
	}
	if expect == 1 {
		s.bootstrap([]raft.Server{{ID: raft.ServerID(s.cfg.ID), Address: raft.ServerAddress(s.RaftAddr()), Suffrage: raft.Voter}})
		return
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.HasConfiguration() {
			return // joined by an existing leader
		}
		var servers []gossip.Member
		if s.members != nil {
			for _, m := range s.members.Members() {
				if m.Server && m.Status == gossip.StatusAlive && m.RaftAddr != "" {
					servers = append(servers, m)
				}
			}
		}
		if len(servers) < expect {
			continue
		}
		configured := false
		for _, m := range servers {
			if m.ID == s.cfg.ID || s.prober == nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ok, err := s.prober(pctx, m)
			cancel()
			if err != nil {
				s.log.Debug("could not ask peer for its raft state", "peer", m.Name, "error", err)
				configured = true // unknown: wait and ask again rather than risk a second cluster
				break
			}
			if ok {
				s.log.Info("a peer already has a raft configuration; waiting to be added", "peer", m.Name)
				configured = true
				break
			}
		}
		if configured {
			continue
		}
		sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
		var conf []raft.Server
		for _, m := range servers {
			conf = append(conf, raft.Server{ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.RaftAddr), Suffrage: raft.Voter})
		}
		s.bootstrap(conf)
		return
	}
}

func (s *Server) bootstrap(conf []raft.Server) {
	err := s.raft.BootstrapCluster(raft.Configuration{Servers: conf}).Error()
	switch {
	case err == nil:
		s.log.Info("bootstrapped cluster", "servers", len(conf))
	case errors.Is(err, raft.ErrCantBootstrap):
		s.log.Info("cluster already bootstrapped")
	default:
		s.log.Error("bootstrap failed", "error", err)
	}
	s.mu.Lock()
	s.bootstrapped = true
	s.mu.Unlock()
}

func sortPeers(p []Peer) {
	sort.Slice(p, func(i, j int) bool { return p[i].ID < p[j].ID })
}

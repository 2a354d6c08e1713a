package cluster

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// PeersFile is the manual-recovery file: DATA_DIR/raft/peers.json.
const PeersFile = "peers.json"

// recoverPeers applies DATA_DIR/raft/peers.json, if present, before Raft
// starts: the operator's statement of the new configuration for a cluster
// that lost its quorum for good (the same file and format as Consul and
// Nomad: [{"id": "...", "address": "ip:port", "non_voter": false}]).
// raft.RecoverCluster replays the log into a scratch FSM, writes a snapshot
// carrying the new configuration and compacts the log; the file is then
// renamed to peers.json.applied so that a restart does not apply it again.
func recoverPeers(rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport, dir string, log hclog.Logger) error {
	path := filepath.Join(dir, PeersFile)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("recovery: %s: %w (expected [{\"id\":\"…\",\"address\":\"ip:port\",\"non_voter\":false}])", path, err)
	}
	self := false
	for _, sv := range conf.Servers {
		if sv.ID == rc.LocalID {
			self = true
		}
	}
	if !self {
		return fmt.Errorf("recovery: %s does not list this server's own id %q (see DATA_DIR/node-id)", path, rc.LocalID)
	}
	log.Warn("recovering from peers.json: replacing the raft configuration", "file", path, "servers", len(conf.Servers))
	if err := raft.RecoverCluster(rc, fsm.New(), logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("recovery from %s failed: %w", path, err)
	}
	if err := os.Rename(path, path+".applied"); err != nil {
		return fmt.Errorf("recovery: applied %s but could not rename it (remove it before the next start): %w", path, err)
	}
	log.Warn("recovery complete", "file", path+".applied")
	return nil
}

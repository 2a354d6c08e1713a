package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// diskProbe remembers the last check of the data directory, so a health
// check every second costs one small write every few seconds at most.
type diskProbe struct {
	mu   sync.Mutex
	at   time.Time
	last error
}

// diskProbeEvery bounds how often DiskWritable really writes.
const diskProbeEvery = 5 * time.Second

// DiskWritable reports whether this server can write and sync a file in its
// data directory (nil for an in-memory server). A full or read-only disk
// makes the server not ready: it can neither append nor apply the log.
func (s *Server) DiskWritable() error {
	if s.cfg.DataDir == "" {
		return nil
	}
	s.disk.mu.Lock()
	defer s.disk.mu.Unlock()
	if !s.disk.at.IsZero() && time.Since(s.disk.at) < diskProbeEvery {
		return s.disk.last
	}
	s.disk.at = time.Now()
	s.disk.last = writeProbe(filepath.Join(s.cfg.DataDir, "raft", ".write-probe"))
	return s.disk.last
}

func writeProbe(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("data directory not writable: %w", err)
	}
	_, werr := f.Write(make([]byte, 4096))
	serr := f.Sync()
	cerr := f.Close()
	os.Remove(path)
	for _, e := range []error{werr, serr, cerr} {
		if e != nil {
			return fmt.Errorf("data directory not writable: %w", e)
		}
	}
	return nil
}

// removeTempSnapshots deletes the "*.tmp" folders a snapshot that failed
// (a full disk) or was cut short (a crash) leaves in dir/snapshots: Raft
// never reads or removes them, so they used to pile up.
func removeTempSnapshots(dir string, log hclog.Logger) {
	tmps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.tmp"))
	for _, t := range tmps {
		if err := os.RemoveAll(t); err != nil {
			log.Warn("could not remove an unfinished snapshot", "path", t, "error", err)
			continue
		}
		log.Info("removed an unfinished snapshot", "path", t)
	}
}

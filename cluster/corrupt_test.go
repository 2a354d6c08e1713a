package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// diskServer writes a single-server cluster with a few entries to dir and
// stops it.
func diskServer(t *testing.T, dir string) {
	t.Helper()
	_, trans := raft.NewInmemTransport("s1")
	s, err := New(Config{ID: "s1", Name: "n1", DataDir: dir, BootstrapExpect: 1, Heartbeat: 50 * time.Millisecond, Election: 50 * time.Millisecond,
		Epoch: time.Hour, BidTTL: 3, PlanHistory: 10, Options: bidding.DefaultOptions(), Transport: trans})
	if err != nil {
		t.Fatal(err)
	}
	s.bootstrap([]raft.Server{{ID: "s1", Address: "s1"}})
	waitfor.True(t, "leadership", 5*time.Second, s.IsLeader)
	for i := range 50 {
		if _, err := s.Apply(context.Background(), fsm.CmdRegisterService, fsm.RegisterService{Service: bidding.Service{Name: fmt.Sprintf("svc-%d", i), Class: bidding.ClassStandard}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
}

func reopen(dir string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("PANIC: %v", p)
		}
	}()
	_, trans := raft.NewInmemTransport("s1")
	s, err := New(Config{ID: "s1", Name: "n1", DataDir: dir, BootstrapExpect: 1, Heartbeat: 50 * time.Millisecond, Election: 50 * time.Millisecond,
		Epoch: time.Hour, BidTTL: 3, PlanHistory: 10, Options: bidding.DefaultOptions(), Transport: trans})
	if err == nil {
		time.Sleep(300 * time.Millisecond) // raft replays the log in its own goroutines
		s.Shutdown()
	}
	return err
}

// Finding 5 of issue 13: a corrupt raft.db stops the server with one line
// naming the file and the recovery, never a panic.
func TestCorruptLogStoreIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(b []byte) []byte
	}{
		{"garbage pages", func(b []byte) []byte {
			for i := 4096 * 2; i < len(b) && i < 4096*6; i++ {
				b[i] = byte(i * 7)
			}
			return b
		}},
		{"truncated", func(b []byte) []byte { return b[:4096*3+100] }},
		{"zeroed meta", func(b []byte) []byte {
			for i := 0; i < 8192 && i < len(b); i++ {
				b[i] = 0
			}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			diskServer(t, dir)
			path := filepath.Join(dir, "raft", "raft.db")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.corrupt(b), 0o600); err != nil {
				t.Fatal(err)
			}
			err = reopen(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != path {
				t.Fatalf("reopening a corrupt raft.db: %v, want a CorruptError naming %s", err, path)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, path) || !strings.Contains(msg, "move its data dir aside") || !strings.Contains(msg, "peers.json") {
				t.Fatalf("message is not one line naming the file and the recovery: %q", msg)
			}
		})
	}
}

func TestIntactLogStoreOpens(t *testing.T) {
	dir := t.TempDir()
	diskServer(t, dir)
	if err := reopen(dir); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptSnapshotIsOneLine(t *testing.T) {
	dir := t.TempDir()
	_, trans := raft.NewInmemTransport("s1")
	s, err := New(Config{ID: "s1", Name: "n1", DataDir: dir, BootstrapExpect: 1, Heartbeat: 50 * time.Millisecond, Election: 50 * time.Millisecond,
		Epoch: time.Hour, BidTTL: 3, PlanHistory: 10, Options: bidding.DefaultOptions(), Transport: trans})
	if err != nil {
		t.Fatal(err)
	}
	s.bootstrap([]raft.Server{{ID: "s1", Address: "s1"}})
	waitfor.True(t, "leadership", 5*time.Second, s.IsLeader)
	if _, err := s.Apply(context.Background(), fsm.CmdRegisterService, fsm.RegisterService{Service: bidding.Service{Name: "web", Class: bidding.ClassStandard}}); err != nil {
		t.Fatal(err)
	}
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	states, _ := filepath.Glob(filepath.Join(dir, "raft", "snapshots", "*", "state.bin"))
	if len(states) == 0 {
		t.Fatal("no snapshot written")
	}
	for _, f := range states {
		os.WriteFile(f, []byte("not a snapshot"), 0o600)
	}
	err = reopen(dir)
	var ce *CorruptError
	if !errors.As(err, &ce) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "snapshots") {
		t.Fatalf("reopening with a corrupt snapshot: %v", err)
	}
}

// Entries at or below the newest snapshot are never applied by this server
// (it restores the snapshot), so start-up checks only the later ones as FSM
// commands; every entry is still checked as a Raft log entry.
func TestVerifyLogStoreDecodesOnlyWhatWillBeApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 3; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{0xff, 0xff, byte(i)}}) // not an FSM command
	}
	if err := bolt.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := bolt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		applyFrom uint64
		wantErr   bool
	}{
		{0, true},  // no snapshot: every command is checked
		{2, true},  // entry 3 will be applied
		{3, false}, // all three are behind the snapshot
		{9, false},
	} {
		_, _, err := verifyLogStore(path, tc.applyFrom)
		var ce *CorruptError
		if got := errors.As(err, &ce); got != tc.wantErr {
			t.Errorf("applyFrom %d: %v, want a CorruptError: %v", tc.applyFrom, err, tc.wantErr)
		}
	}
}

package cluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/allot-dev/allot/fsm"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// CorruptError is a data file that cannot be read as what it must be. Its
// message is one line: the file, what is wrong, and the recovery.
type CorruptError struct {
	File string
	Err  error
}

func (e *CorruptError) Error() string {
	return strings.ReplaceAll(fmt.Sprintf("%s is corrupt (%v); to recover: %s", e.File, e.Err, Recovery), "\n", " ")
}

func (e *CorruptError) Unwrap() error { return e.Err }

// verifyLogStore reads every page of the Raft log store at path, read-only,
// before Raft opens it: every entry must decode, carry its key's index and
// follow the previous one, and a command after applyFrom must decode as an
// FSM command. A corrupt file used to crash the agent with a Go panic on
// start (bbolt, raft or the FSM panicking on what they read) and crash-loop
// with no hint. A missing file is a new server.
//
// applyFrom is the newest snapshot's index: this server restores that
// snapshot and never applies the entries at or below it, so decoding them as
// commands only cost start-up time (0.5 s of a follower's restart after a
// batched ingest, most of its catch-up: docs/BENCHMARKS.md run I).
//
// It returns the first index and every entry's size in order, which seed the
// log's byte budget (logbudget.go).
func verifyLogStore(path string, applyFrom uint64) (first uint64, sizes []uint32, err error) {
	if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) {
		return 0, nil, nil
	}
	// bbolt reads the file through a memory map: a garbage page can send it
	// to an address outside the map, a fault that kills the process unless
	// it is turned into a panic (seen in CI: SIGSEGV in bbolt's cursor).
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil { // bbolt panics (or faults) on a page it cannot make sense of
			first, sizes, err = 0, nil, &CorruptError{File: path, Err: fmt.Errorf("reading it failed: %v", p)}
		}
	}()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if errors.Is(err, bbolt.ErrTimeout) {
		return 0, nil, fmt.Errorf("%s is locked by another process (another agent with the same data dir?)", path)
	}
	if err != nil {
		return 0, nil, &CorruptError{File: path, Err: err}
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		if c := tx.Bucket([]byte("conf")); c != nil {
			_ = c.ForEach(func(k, v []byte) error { return nil }) // touches every page
		}
		logs := tx.Bucket([]byte("logs"))
		if logs == nil {
			return nil
		}
		var prev uint64
		c := logs.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return &CorruptError{File: path, Err: fmt.Errorf("a log key of %d bytes", len(k))}
			}
			idx := binary.BigEndian.Uint64(k)
			var l raft.Log
			if err := codec.NewDecoder(bytes.NewReader(v), &codec.MsgpackHandle{}).Decode(&l); err != nil {
				return &CorruptError{File: path, Err: fmt.Errorf("log entry %d does not decode: %v", idx, err)}
			}
			if l.Index != idx {
				return &CorruptError{File: path, Err: fmt.Errorf("the log entry stored under index %d says it is %d", idx, l.Index)}
			}
			if prev != 0 && idx != prev+1 {
				return &CorruptError{File: path, Err: fmt.Errorf("the log jumps from index %d to %d", prev, idx)}
			}
			if l.Type == raft.LogCommand && idx > applyFrom {
				if _, _, err := fsm.Decode(l.Data); err != nil && !errors.Is(err, fsm.ErrUnknownIgnorable) {
					return &CorruptError{File: path, Err: fmt.Errorf("log entry %d is not a command this server can apply: %v", idx, err)}
				}
			}
			if first == 0 {
				first = idx
			}
			sizes = append(sizes, uint32(logBytes(&l)))
			prev = idx
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return first, sizes, nil
}

// newestSnapshotIndex is the index of the newest snapshot in store (0: none,
// or the store cannot list them: then every entry is checked).
func newestSnapshotIndex(store raft.SnapshotStore) uint64 {
	metas, err := store.List()
	if err != nil || len(metas) == 0 {
		return 0
	}
	return metas[0].Index // List sorts newest first
}

// openLogStore opens the Raft log store read-write. verifyLogStore reads it
// read-only first, but bbolt loads the freelist only when it opens a file
// for writing, and panics (or faults) on a garbage one: that too is a
// CorruptError, not a crash.
func openLogStore(path string) (_ *raftboltdb.BoltStore, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &CorruptError{File: path, Err: fmt.Errorf("opening it failed: %v", p)}
		}
	}()
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		return nil, &CorruptError{File: path, Err: err}
	}
	return bolt, nil
}

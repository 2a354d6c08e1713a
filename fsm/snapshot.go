package fsm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"

	"github.com/hashicorp/raft"
)

// Snapshot formats. Version 1 is the JSON of the state (it starts with
// '{'); versions 2 and 3 start with snapshotMagic and a version byte,
// followed by the canonical msgpack of the state (codec.go). Version 3 is
// the same encoding as 2 for a state that may hold compact past plans
// (pastplans.go): a build that reads only 1 and 2 would skip them as an
// unknown field and lose the history silently, so it refuses 3 by its
// version byte instead. Restore reads all three.
const (
	snapshotJSON    byte = 1
	snapshotMsgpack byte = 2
	snapshotPast    byte = 3
	snapshotMagic        = "ALLOT-FSM"
)

// stateCheck refuses a restored state that JSON cannot represent (the
// state hash is its JSON); stateDec decodes a version 2 snapshot. Built
// once, never changed.
var (
	stateCheck = compileCheck(reflect.TypeFor[state]())
	stateDec   = compileDec(reflect.TypeFor[state]())
)

// Snapshot captures a view of the state that later applies do not change,
// in time proportional to the number of top-level entries (placements,
// services, members, plans…), not to their size: the top-level maps are
// cloned and their values shared. This is safe because every apply path
// replaces a value (a placement's bid map, a usage slice, a plan) instead of
// changing it in place (apply.go; TestSnapshotIsolation). Encoding happens
// in Persist, without the FSM lock, so applies go on meanwhile.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &snapshot{st: f.st.clone()}, nil
}

// clone copies the top-level maps; their values are shared (see Snapshot).
func (s *state) clone() *state {
	c := *s
	c.Services = maps.Clone(s.Services)
	c.Bids = maps.Clone(s.Bids)
	c.Boosts = maps.Clone(s.Boosts)
	c.Members = maps.Clone(s.Members)
	c.Plans = maps.Clone(s.Plans)
	c.Past = slices.Clone(s.Past) // entries never change: a shallow copy
	c.ACLTokens = maps.Clone(s.ACLTokens)
	c.Usage = maps.Clone(s.Usage)
	c.Regressors = maps.Clone(s.Regressors)
	c.History = maps.Clone(s.History)
	c.planBytes = nil // derived, live-only: the snapshot never reads it
	return &c
}

type snapshot struct{ st *state }

// Persist streams the captured state in the current format (version 2).
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.st); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("writing fsm snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() { s.st = nil }

func writeSnapshot(w io.Writer, st *state) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString(snapshotMagic)
	bw.WriteByte(snapshotPast)
	if err := encodeState(bw, st); err != nil { // the bytes go-msgpack writes (msgpack_enc.go)
		return err
	}
	return bw.Flush()
}

// Restore replaces the state with a snapshot's, in either format. A
// snapshot that is corrupt, truncated or of an unknown format version is
// an error naming what is wrong, and the state is left as it was.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := readSnapshot(bufio.NewReaderSize(rc, 256<<10))
	if err != nil {
		return fmt.Errorf("fsm snapshot: %w", err)
	}
	fresh := newState()
	if st.Services == nil {
		st.Services = fresh.Services
	}
	if st.Bids == nil {
		st.Bids = fresh.Bids
	}
	if st.Boosts == nil {
		st.Boosts = fresh.Boosts
	}
	if st.Members == nil {
		st.Members = fresh.Members
	}
	if st.Plans == nil {
		st.Plans = fresh.Plans
	}
	stripExplanations(st)
	if len(st.Regressors) == 0 {
		st.Regressors = nil // as newState, like the ACL tokens below
	}
	if len(st.History) == 0 {
		st.History = nil // a snapshot from before imports has none
	}
	if len(st.ACLTokens) == 0 {
		st.ACLTokens = nil // as newState: an empty map and a missing one encode alike
	}
	st.indexClientNodes()
	f.digestMu.Lock()
	f.planDigests = nil // of the replaced plans (check.go)
	f.digestGen++
	f.digestMu.Unlock()
	f.mu.Lock()
	f.st = st
	f.restoredAt = max(f.restoredAt, st.Index) // no plan hashes for what the snapshot covers
	f.dropPendingLocked()
	f.notifyLocked()
	f.mu.Unlock()
	return nil
}

// readSnapshot detects the format by its first bytes and decodes it.
func readSnapshot(br *bufio.Reader) (*state, error) {
	head, err := br.Peek(len(snapshotMagic) + 1)
	if len(head) == 0 {
		return nil, fmt.Errorf("empty or unreadable (%v)", err)
	}
	st := newState()
	switch {
	case head[0] == '{' || head[0] == ' ' || head[0] == '\n':
		// Version 1: the JSON of the state, as builds before msgpack wrote it.
		if err := json.NewDecoder(br).Decode(st); err != nil {
			return nil, fmt.Errorf("decoding version %d (JSON): %w", snapshotJSON, err)
		}
		if err := st.checkPast(); err != nil {
			return nil, fmt.Errorf("version %d (JSON): %w", snapshotJSON, err)
		}
		return st, nil
	case len(head) == len(snapshotMagic)+1 && string(head[:len(snapshotMagic)]) == snapshotMagic:
	default:
		return nil, fmt.Errorf("unrecognised header % x: neither a JSON state (version %d) nor %q (version %d and later)",
			head, snapshotJSON, snapshotMagic, snapshotMsgpack)
	}
	v := head[len(snapshotMagic)]
	if v != snapshotMsgpack && v != snapshotPast {
		return nil, fmt.Errorf("format version %d, this build reads %d (JSON), %d and %d (msgpack)", v, snapshotJSON, snapshotMsgpack, snapshotPast)
	}
	_, _ = br.Discard(len(head))
	body, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("reading version %d (msgpack): %w", v, err)
	}
	if err := decodeInto(body, stateDec, st); err != nil {
		return nil, fmt.Errorf("decoding version %d (msgpack): %w", v, err)
	}
	if err := stateCheck(reflect.ValueOf(st).Elem()); err != nil {
		return nil, fmt.Errorf("version %d (msgpack): %w", v, err)
	}
	if err := st.checkPast(); err != nil {
		return nil, fmt.Errorf("version %d (msgpack): %w", v, err)
	}
	return st, nil
}

package cluster_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/fsm"
	"github.com/allot-dev/allot/internal/testcluster"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// p99 is a bid value whose big-endian bytes (0b ad f0 0d, as msgpack
// writes a 32-bit integer) occur once in the entry; the last is flipped.
const p99 = 0x0BADF00D

// logEntry reads the raw stored form of the Raft log entry at index from a
// raft.db (raft-boltdb's "logs" bucket, keyed by the big-endian index).
func logEntry(t *testing.T, path string, index uint64) []byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []byte
	key := binary.BigEndian.AppendUint64(nil, index)
	db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("logs")); b != nil {
			out = bytes.Clone(b.Get(key))
		}
		return nil
	})
	if out == nil {
		t.Fatalf("no entry %d in %s", index, path)
	}
	return out
}

// Issue 13, acceptance: one changed byte in a follower's raft.db (a bid's
// p99, still a valid encoding, so the startup check cannot see it) is found
// at the first plan after that entry, i.e. within one epoch, at a short
// epoch (it used to be checked every ceil(30 s/epoch)-th plan only); the
// follower names itself and the recovery in one line and refuses reads.
func TestOneByteInFollowerLogFoundWithinOneEpoch(t *testing.T) {
	c := testcluster.StartOnDisk(t, 3, 300*time.Millisecond)
	leader := c.Leader(10 * time.Second)
	waitMembers(t, leader, 3)
	register(t, leader.Client(), "web")
	f := c.Followers()[0]
	var idx uint64
	waitfor.True(t, "the bid committed", 10*time.Second, func() bool {
		b := bidding.Bid{Service: "web", Node: f.Name, Epoch: leader.Server.FSM().SolveInputs().Epoch,
			Resources: map[string]bidding.Quantiles{"cpu": {P50: 500, P90: 800, P99: p99}}}
		i, err := leader.Server.Apply(context.Background(), fsm.CmdSubmitBids, fsm.SubmitBids{Bids: []bidding.Bid{b}})
		idx = i
		return err == nil // refused only when the epoch moved on meanwhile
	})
	waitfor.True(t, "the follower has the bid", 10*time.Second, func() bool { return f.Server.FSM().Index() >= idx })
	c.Kill(f)

	// One byte of that entry changes on the follower's disk: p99 0x0BADF00D
	// → 0x0BADF00E. Every copy of the entry's value in the file is changed
	// (bbolt leaves stale copies in freed pages), and the live entry is
	// checked to differ in exactly that byte.
	path := filepath.Join(f.DataDir, "raft", "raft.db")
	entry := logEntry(t, path, idx)
	pat := []byte{0x0b, 0xad, 0xf0, 0x0d}
	at := bytes.Index(entry, pat)
	if at < 0 || bytes.Count(entry, pat) != 1 {
		t.Fatalf("the bid's p99 occurs %d times in entry %d", bytes.Count(entry, pat), idx)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for off := 0; ; {
		i := bytes.Index(file[off:], entry)
		if i < 0 {
			break
		}
		file[off+i+at+len(pat)-1]++
		copies++
		off += i + len(entry)
	}
	if copies == 0 {
		t.Fatalf("entry %d is not stored contiguously in %s", idx, path)
	}
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	changed := logEntry(t, path, idx)
	diff := 0
	for i := range entry {
		if entry[i] != changed[i] {
			diff++
		}
	}
	if len(changed) != len(entry) || diff != 1 {
		t.Fatalf("the live entry changed in %d bytes, want 1", diff)
	}

	if err := c.Restart(f); err != nil {
		t.Fatalf("restarting the follower: %v (the change keeps a valid encoding: the startup check passes it)", err)
	}
	ff := f.Server.FSM()
	waitfor.True(t, "the follower to find its divergence", 30*time.Second, func() bool { n, _ := ff.Divergences(); return n > 0 })
	_, d := ff.Divergences()
	// The first plan committed after the changed entry is the one whose
	// check found it: within one epoch.
	first := uint64(0)
	lp, _ := leader.Server.FSM().LatestPlan()
	for e := lp.Epoch; e > 0; e-- {
		p, ok := leader.Server.FSM().Plan(e)
		if !ok || p.Index < idx {
			break
		}
		first = p.Index
	}
	if first == 0 || d.Index != first {
		t.Fatalf("divergence found at index %d; the first plan after the changed entry %d is at %d", d.Index, idx, first)
	}
	msg := f.Server.Divergence()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "server "+f.Name) || !strings.Contains(msg, "move its data dir aside") {
		t.Fatalf("the divergence is not one line naming the server and the recovery: %q", msg)
	}
	for _, n := range c.Nodes {
		if n != f {
			if k, _ := n.Server.FSM().Divergences(); k != 0 {
				t.Fatalf("%s, which kept its log intact, counted %d divergences", n.Name, k)
			}
		}
	}
	// A diverged server does not stay leader: given the leadership, it
	// hands it on to a server that agrees.
	if err := leader.Server.Raft().LeadershipTransferToServer(raft.ServerID(f.ID), raft.ServerAddress(f.ID)).Error(); err != nil {
		t.Fatalf("moving the leadership to the diverged follower: %v", err)
	}
	waitfor.True(t, "a leader other than the diverged server", 30*time.Second, func() bool {
		for _, n := range c.Nodes {
			if n != f && n.Server.IsLeader() {
				return true
			}
		}
		return false
	})
}

package gossip

import (
	"errors"
	"testing"
	"time"
)

func startNamed(t *testing.T, id, name string) *Gossip {
	t.Helper()
	g, err := New(Config{Meta: Meta{ID: id, Name: name, Server: true, RaftAddr: "127.0.0.1:1"}, BindAddr: "127.0.0.1", BindPort: 0, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown() })
	return g
}

// Finding 1 of issue 13: a second agent started with the name of a live one
// (another node ID) must be refused, as Consul refuses it, not flip the
// member record between the two IDs.
func TestDuplicateNameRefused(t *testing.T) {
	a := startNamed(t, "id-a", "n1")
	b := startNamed(t, "id-b", "n2")
	if _, err := b.Join([]string{a.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 members", func() bool { return len(a.Members()) == 2 && len(b.Members()) == 2 })

	for _, target := range []*Gossip{a, b} { // the holder itself, and a third party
		imp := startNamed(t, "id-impostor-"+target.meta.Name, "n1")
		_, err := imp.Join([]string{target.LocalAddr()})
		if !errors.Is(err, ErrNameConflict) {
			t.Fatalf("join of an impostor named n1 via %s: got %v, want ErrNameConflict", target.meta.Name, err)
		}
		imp.Shutdown()
	}
	time.Sleep(500 * time.Millisecond) // let any gossip about the impostors spread
	for _, g := range []*Gossip{a, b} {
		for _, m := range g.Members() {
			if m.Name == "n1" && m.ID != "id-a" {
				t.Fatalf("%s lists the impostor: %+v", g.meta.Name, m)
			}
		}
	}
}

// A node whose name holder has failed may take the name (a host rebuilt
// with a fresh data dir), and the same ID at a new address is the same node.
func TestNameOfFailedNodeMayBeReused(t *testing.T) {
	a := startNamed(t, "id-a", "n1")
	b := startNamed(t, "id-b", "n2")
	if _, err := b.Join([]string{a.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 members", func() bool { return len(b.Members()) == 2 })
	a.Shutdown()
	waitFor(t, "a failed", func() bool { return b.Members()[0].Status == StatusFailed })
	c := startNamed(t, "id-c", "n1")
	if _, err := c.Join([]string{b.LocalAddr()}); err != nil {
		t.Fatalf("rejoining a failed node's name: %v", err)
	}
}

package gossip

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, id string) *Gossip {
	t.Helper()
	g, err := New(Config{Meta: Meta{ID: id, Name: "name-" + id, Server: true, RaftAddr: "127.0.0.1:1"}, BindAddr: "127.0.0.1", BindPort: 0, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown() })
	return g
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestJoinMembersMetaLeave(t *testing.T) {
	a, b, c := start(t, "a"), start(t, "b"), start(t, "c")
	if _, err := b.Join([]string{a.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.JoinRetry(ctx, []string{a.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 members everywhere", func() bool { return len(a.Members()) == 3 && len(c.Members()) == 3 })
	if m := a.Members()[1]; m.Name != "name-b" || !m.Server || m.RaftAddr != "127.0.0.1:1" || m.Role() != "server" {
		t.Fatalf("metadata not carried: %+v", m)
	}
	if err := b.UpdateMeta(func(m *Meta) { m.HTTPAddr = "127.0.0.1:9" }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "meta update", func() bool { return a.Members()[1].HTTPAddr == "127.0.0.1:9" })
	if err := c.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	c.Shutdown()
	waitFor(t, "left status", func() bool { return a.Members()[2].Status == StatusLeft })
	b.Shutdown()
	waitFor(t, "failed status", func() bool { return a.Members()[1].Status == StatusFailed })
}

func TestJoinUnreachableIsBounded(t *testing.T) {
	a := start(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := a.JoinRetry(ctx, []string{"127.0.0.1:1"}); err == nil {
		t.Fatal("join to a closed port succeeded")
	}
	if time.Since(t0) > 20*time.Second {
		t.Fatal("join retry did not stop with its context")
	}
}

func TestUnspecifiedBindNeedsAdvertise(t *testing.T) {
	if _, err := New(Config{Meta: Meta{ID: "x"}, BindAddr: "0.0.0.0"}); err == nil {
		t.Fatal("0.0.0.0 without advertise accepted")
	}
}

func TestEncryptedGossip(t *testing.T) {
	key := make([]byte, 32)
	other := make([]byte, 32)
	other[0] = 1
	mk := func(id string, k []byte) *Gossip {
		g, err := New(Config{Meta: Meta{ID: id, Name: id}, BindAddr: "127.0.0.1", SecretKey: k, Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Shutdown() })
		return g
	}
	a, b, c := mk("a", key), mk("b", key), mk("c", other)
	if _, err := b.Join([]string{a.LocalAddr()}); err != nil {
		t.Fatalf("same key: %v", err)
	}
	if _, err := c.Join([]string{a.LocalAddr()}); err == nil || !strings.Contains(err.Error(), "encryption key") {
		t.Fatalf("a node with another key: %v, want an error naming the encryption key", err)
	}
	plain := mk("d", nil)
	if _, err := plain.Join([]string{a.LocalAddr()}); err == nil || !strings.Contains(err.Error(), "encryption key") {
		t.Fatalf("a node without a key: %v, want an error naming the encryption key", err)
	}
}

func FuzzMeta(f *testing.F) {
	f.Add([]byte(`{"id":"x","n":"n1","s":true,"r":"127.0.0.1:1","cap":[1,2,3,4]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Meta
		_ = json.Unmarshal(b, &m) // node metadata from the network must never panic the decoder
		_ = Member{Meta: m}.Role()
	})
}

package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/gossip"
	"github.com/hashicorp/raft"
)

func srvMember(id, addr, status string) gossip.Member {
	return gossip.Member{Meta: gossip.Meta{ID: id, Name: "n-" + id, Server: true, RaftAddr: addr}, Status: status}
}

func voter(id, addr string) raft.Server {
	return raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter}
}

func nonvoter(id, addr string) raft.Server {
	return raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Nonvoter}
}

func kinds(acts []action) string {
	var b []string
	for _, a := range acts {
		b = append(b, a.Kind.String()+":"+a.ID)
	}
	return strings.Join(b, ",")
}

var pol = policy{Self: "a", Stable: 10 * time.Second, Grace: time.Minute, MinQuorum: 3}

func TestDecideAddsNewServerAsNonvoterThenPromotes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := newTracker(t0)
	conf := []raft.Server{voter("a", "10.0.0.1:7482"), voter("b", "10.0.0.2:7482"), voter("c", "10.0.0.3:7482")}
	ms := []gossip.Member{srvMember("a", "10.0.0.1:7482", "alive"), srvMember("b", "10.0.0.2:7482", "alive"),
		srvMember("c", "10.0.0.3:7482", "alive"), srvMember("d", "10.0.0.4:7482", "alive")}
	acts, _ := decide(t0, pol, ms, conf, tr, "")
	if got := kinds(acts); got != "add-nonvoter:d" {
		t.Fatalf("first pass: %s", got)
	}
	conf = append(conf, nonvoter("d", "10.0.0.4:7482"))
	if acts, _ := decide(t0.Add(5*time.Second), pol, ms, conf, tr, ""); len(acts) != 0 {
		t.Fatalf("promoted before stable: %s", kinds(acts))
	}
	// a suspect blip restarts the stability clock
	ms[3].Status = "suspect"
	decide(t0.Add(6*time.Second), pol, ms, conf, tr, "")
	ms[3].Status = "alive"
	if acts, _ := decide(t0.Add(12*time.Second), pol, ms, conf, tr, ""); len(acts) != 0 {
		t.Fatalf("promoted despite a suspect blip: %s", kinds(acts))
	}
	if acts, _ := decide(t0.Add(23*time.Second), pol, ms, conf, tr, ""); kinds(acts) != "promote:d" {
		t.Fatalf("not promoted once stable: %s", kinds(acts))
	}
}

func TestDecideNewAddressReplacesEntryKeepingSuffrage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	conf := []raft.Server{voter("a", "10.0.0.1:7482"), voter("b", "10.0.0.2:7482"), voter("c", "10.0.0.3:7482")}
	ms := []gossip.Member{srvMember("b", "10.0.0.2:7482", "alive"), srvMember("c", "10.0.0.9:7482", "alive")}
	acts, _ := decide(t0, pol, ms, conf, newTracker(t0), "")
	if len(acts) != 1 || acts[0].Kind != actAddNonvoter || acts[0].ID != "c" || acts[0].Addr != "10.0.0.9:7482" {
		t.Fatalf("got %+v", acts)
	}
	// a fresh ID at an address an old entry holds: the old entry goes
	ms = []gossip.Member{srvMember("b", "10.0.0.2:7482", "alive"), srvMember("z", "10.0.0.3:7482", "alive")}
	acts, _ = decide(t0, pol, ms, conf, newTracker(t0), "")
	if kinds(acts) != "remove:c,add-nonvoter:z" {
		t.Fatalf("got %s", kinds(acts))
	}
}

func TestDecideFailedIsKeptLeftIsRemoved(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := newTracker(t0)
	conf := []raft.Server{voter("a", "1:1"), voter("b", "2:1"), voter("c", "3:1")}
	ms := []gossip.Member{srvMember("b", "2:1", "failed"), srvMember("c", "3:1", "left")}
	acts, _ := decide(t0, pol, ms, conf, tr, "")
	if kinds(acts) != "remove:c" {
		t.Fatalf("got %s", kinds(acts))
	}
	// leaving flag on an alive member counts as left
	m := srvMember("b", "2:1", "alive")
	m.Leaving = true
	acts, _ = decide(t0, pol, []gossip.Member{m}, conf, newTracker(t0), "b")
	if kinds(acts) != "remove:b" {
		t.Fatalf("leaving: got %s", kinds(acts))
	}
	// the last voter is never removed
	acts, refused := decide(t0, policy{Self: "x"}, []gossip.Member{srvMember("a", "1:1", "left")}, conf[:1], newTracker(t0), "")
	if len(acts) != 0 || !strings.Contains(refused, "last voter") {
		t.Fatalf("last voter: %s %q", kinds(acts), refused)
	}
}

func TestDecideDeadServerRemovalIsBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	five := []raft.Server{voter("a", "1:1"), voter("b", "2:1"), voter("c", "3:1"), voter("d", "4:1"), voter("e", "5:1")}
	alive := func(ids ...string) []gossip.Member {
		var out []gossip.Member
		for _, id := range ids {
			out = append(out, srvMember(id, map[string]string{"a": "1:1", "b": "2:1", "c": "3:1", "d": "4:1", "e": "5:1"}[id], "alive"))
		}
		return out
	}
	// d and e failed: removed only after the grace, both at once ((5-1)/2 = 2), leaving 3 = min quorum
	ms := append(alive("a", "b", "c"), srvMember("d", "4:1", "failed"), srvMember("e", "5:1", "failed"))
	tr := newTracker(t0)
	if acts, _ := decide(t0, pol, ms, five, tr, ""); len(acts) != 0 {
		t.Fatalf("removed before the grace: %s", kinds(acts))
	}
	if acts, _ := decide(t0.Add(2*time.Minute), pol, ms, five, tr, ""); kinds(acts) != "remove:d,remove:e" {
		t.Fatalf("got %s", kinds(acts))
	}
	// three dead of five is more than (5-1)/2: nothing is removed
	ms = append(alive("a", "b"), srvMember("c", "3:1", "failed"), srvMember("d", "4:1", "failed"), srvMember("e", "5:1", "failed"))
	tr = newTracker(t0)
	decide(t0, pol, ms, five, tr, "")
	acts, refused := decide(t0.Add(2*time.Minute), pol, ms, five, tr, "")
	if len(acts) != 0 || !strings.Contains(refused, "(voters-1)/2") {
		t.Fatalf("got %s %q", kinds(acts), refused)
	}
	// min quorum: of 3 voters one dead may not be removed when min_quorum is 3
	three := five[:3]
	ms = append(alive("a", "b"), srvMember("c", "3:1", "failed"))
	tr = newTracker(t0)
	decide(t0, pol, ms, three, tr, "")
	acts, refused = decide(t0.Add(2*time.Minute), pol, ms, three, tr, "")
	if len(acts) != 0 || !strings.Contains(refused, "min_quorum") {
		t.Fatalf("got %s %q", kinds(acts), refused)
	}
	// with min_quorum 2 it may
	p2 := pol
	p2.MinQuorum = 2
	if acts, _ := decide(t0.Add(3*time.Minute), p2, ms, three, tr, ""); kinds(acts) != "remove:c" {
		t.Fatalf("min quorum 2: %s", kinds(acts))
	}
	// a raft entry gossip has never heard of counts as failed from first sight
	tr = newTracker(t0)
	ms = alive("a", "b", "c", "d")
	decide(t0, p2, ms, five, tr, "")
	if acts, _ := decide(t0.Add(2*time.Minute), p2, ms, five, tr, ""); kinds(acts) != "remove:e" {
		t.Fatalf("unknown entry: %s", kinds(acts))
	}
}

// A server that asked to be removed (allot leave) may still look alive in
// gossip before its leaving flag arrives: it must not be added back then.
// Once gossip has shown it gone, a restart rejoins at once; a server that
// never goes (removed by mistake) rejoins after removalHold.
func TestDecideDoesNotReaddAServerRemovedByRequest(t *testing.T) {
	t0 := time.Unix(1000, 0)
	conf := []raft.Server{voter("a", "10.0.0.1:7482"), voter("b", "10.0.0.2:7482")}
	ms := []gossip.Member{srvMember("a", "10.0.0.1:7482", "alive"), srvMember("b", "10.0.0.2:7482", "alive"),
		srvMember("c", "10.0.0.3:7482", "alive")}
	tr := newTracker(t0)
	tr.removedAt["c"] = t0.Add(-2 * time.Second)
	if acts, _ := decide(t0, pol, ms, conf, tr, ""); len(acts) != 0 {
		t.Fatalf("re-added a server removed 2 s ago: %s", kinds(acts))
	}
	// it leaves gossip, then restarts: added back at once
	ms[2].Status = "left"
	decide(t0.Add(time.Second), pol, ms, conf, tr, "")
	ms[2].Status = "alive"
	if acts, _ := decide(t0.Add(2*time.Second), pol, ms, conf, tr, ""); kinds(acts) != "add-nonvoter:c" {
		t.Fatalf("restart after leaving: %s", kinds(acts))
	}
	// removed by mistake and never gone: back after the hold
	tr = newTracker(t0)
	tr.removedAt["c"] = t0
	if acts, _ := decide(t0.Add(removalHold/2), pol, ms, conf, tr, ""); len(acts) != 0 {
		t.Fatalf("re-added within the hold: %s", kinds(acts))
	}
	if acts, _ := decide(t0.Add(removalHold), pol, ms, conf, tr, ""); kinds(acts) != "add-nonvoter:c" {
		t.Fatalf("after the hold: %s", kinds(acts))
	}
}

// A leader whose own entry names an address it is no longer reached at
// (recreated with a new IP, elected back) sees it; one whose entry is
// current, or that is not in the configuration, does not.
func TestSelfMoved(t *testing.T) {
	conf := []raft.Server{{ID: "s1", Address: "10.0.0.1:7482"}, {ID: "s2", Address: "10.0.0.2:7482"}}
	for _, c := range []struct {
		self, addr string
		old        string
		moved      bool
	}{
		{"s1", "10.0.0.9:7482", "10.0.0.1:7482", true},
		{"s1", "10.0.0.1:7482", "10.0.0.1:7482", false},
		{"s3", "10.0.0.3:7482", "", false},
		{"s2", "", "10.0.0.2:7482", false},
	} {
		old, moved := selfMoved(conf, c.self, c.addr)
		if old != c.old || moved != c.moved {
			t.Errorf("selfMoved(%s at %q) = %q, %v; want %q, %v", c.self, c.addr, old, moved, c.old, c.moved)
		}
	}
}

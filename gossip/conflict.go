package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/memberlist"
)

// ErrNameConflict is returned (wrapped) when a node name is already held by
// another live node ID. Like Consul, gossip refuses such a join instead of
// letting the two IDs take turns owning the name (which made the replicated
// member record flip between them forever).
var ErrNameConflict = errors.New("node name conflict")

// nameConflict reports whether n (as gossiped) claims a node name that this
// node, or another member it sees alive or suspect, holds under another ID.
func (g *Gossip) nameConflict(n *memberlist.Node) error {
	var meta Meta
	if err := json.Unmarshal(n.Meta, &meta); err != nil || meta.ID == "" || meta.Name == "" {
		return nil // not ours to judge; toMember ignores it too
	}
	if n.State == memberlist.StateDead || n.State == memberlist.StateLeft {
		return nil // a dead or departed holder gives its name up
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if meta.Name == g.meta.Name && meta.ID != g.meta.ID {
		return fmt.Errorf("%w: node name %q is held by this node (ID %s); node ID %s at %s must use another --node",
			ErrNameConflict, meta.Name, g.meta.ID, meta.ID, n.Address())
	}
	for id, m := range g.members {
		if id == meta.ID || m.Name != meta.Name {
			continue
		}
		if m.Status == StatusAlive || m.Status == StatusSuspect {
			return fmt.Errorf("%w: node name %q is held by live node ID %s at %s; node ID %s at %s must use another --node",
				ErrNameConflict, meta.Name, id, m.Addr, meta.ID, n.Address())
		}
	}
	return nil
}

// aliveDelegate drops alive messages that claim a name held by another live ID.
type aliveDelegate Gossip

func (a *aliveDelegate) NotifyAlive(n *memberlist.Node) error {
	g := (*Gossip)(a)
	if err := g.nameConflict(n); err != nil {
		g.log.Error("refusing gossip member", "error", err)
		return err
	}
	return nil
}

// mergeDelegate refuses a push/pull (a join, either side) that would bring in
// a node holding a name already held by another live ID.
type mergeDelegate Gossip

func (d *mergeDelegate) NotifyMerge(peers []*memberlist.Node) error {
	g := (*Gossip)(d)
	for _, n := range peers {
		if err := g.nameConflict(n); err != nil {
			g.log.Error("refusing to merge gossip state", "error", err)
			return err
		}
	}
	return nil
}

// conflictOf turns memberlist's multi-line join error that carries a name
// conflict into one line wrapping ErrNameConflict.
func conflictOf(err error) error {
	msg := err.Error()
	for _, l := range strings.Split(msg, "\n") {
		if i := strings.Index(l, ErrNameConflict.Error()+": "); i >= 0 {
			return fmt.Errorf("%w: %s", ErrNameConflict, strings.TrimSpace(l[i+len(ErrNameConflict.Error())+2:]))
		}
	}
	return fmt.Errorf("%w: %s", ErrNameConflict, strings.Join(strings.Fields(msg), " "))
}

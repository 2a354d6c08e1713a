package enforce

import (
	"context"
	"errors"
	"maps"
	"testing"
)

// TestBook: the agent's own service blocks win; the rest come from the
// registry; when the registry cannot be reached, the last answer (also
// after a restart, from the data dir) stands in, and what it does not know
// is reported instead of guessed.
func TestBook(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	registry := map[string]Target{"web": {Cgroup: "reg-web", Interface: "veth-web"}, "db": {Cgroup: "reg-db"}}
	var down bool
	calls := 0
	fetch := func(context.Context) (map[string]Target, error) {
		calls++
		if down {
			return nil, errors.New("no server answers")
		}
		return maps.Clone(registry), nil
	}
	local := map[string]Target{"web": {Cgroup: "mine"}}
	b := NewBook(local, fetch, dir, nil)

	got, err := b.Resolve(ctx, []string{"web"})
	if err != nil || got["web"] != (Target{Cgroup: "mine"}) || calls != 0 {
		t.Fatalf("local only: %v %v, %d registry calls", got, err, calls)
	}
	got, err = b.Resolve(ctx, []string{"web", "db", "new"})
	if err != nil || !maps.Equal(got, map[string]Target{"web": {Cgroup: "mine"}, "db": {Cgroup: "reg-db"}}) {
		t.Fatalf("with the registry: %v %v", got, err)
	}

	down = true
	for _, bk := range []*Book{b, NewBook(local, fetch, dir, nil)} { // this one, and one restarted from the data dir
		got, err = bk.Resolve(ctx, []string{"db", "new"})
		errHas(t, err, "no server answers")
		if !maps.Equal(got, map[string]Target{"db": {Cgroup: "reg-db"}}) {
			t.Fatalf("registry down: %v", got)
		}
	}
	if got, err := NewBook(nil, fetch, "", nil).Resolve(ctx, []string{"db"}); err == nil || len(got) != 0 {
		t.Fatalf("no data dir, registry down: %v %v", got, err)
	}
}

package cgroupsvc

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

type ensurer struct {
	fail  int
	calls [][]string
}

func (e *ensurer) Name() string                                      { return "fake" }
func (e *ensurer) Apply(context.Context, []bidding.Allocation) error { return nil }
func (e *ensurer) Ensure(_ context.Context, s []string) error {
	e.calls = append(e.calls, s)
	if e.fail > 0 {
		e.fail--
		return errors.New("read-only file system")
	}
	return nil
}

func TestDiscoverCreatesTheCgroupsOnce(t *testing.T) {
	e := &ensurer{fail: 1}
	defs := []bidding.Service{{Name: "web", Cgroup: "svc/web"}, {Name: "api", Cgroup: "api"}, {Name: "nocg"}}
	r, err := New("/allot", defs, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		svcs, err := r.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) != 2 || svcs[0].Def.Name != "api" || svcs[1].Instances[0].Cgroup != "allot/svc/web" {
			t.Fatalf("discovered %+v: want api and web (sorted), web in allot/svc/web", svcs)
		}
	}
	// the first Ensure failed: tried again at the next discovery, then never
	if len(e.calls) != 2 || !slices.Equal(e.calls[1], []string{"api", "web"}) {
		t.Fatalf("Ensure calls %v", e.calls)
	}
}

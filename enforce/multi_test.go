package enforce

import (
	"context"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

type countingResolver struct {
	Targets
	calls int
}

func (c *countingResolver) Resolve(ctx context.Context, services []string) (map[string]Target, error) {
	c.calls++
	return c.Targets.Resolve(ctx, services)
}

type recordingDriver struct{ got []placed }

func (r *recordingDriver) Name() string { return "rec" }
func (r *recordingDriver) Apply(context.Context, []bidding.Allocation) error {
	panic("Multi must use applyPlaced")
}
func (r *recordingDriver) applyPlaced(_ context.Context, p []placed) error {
	r.got = p
	return nil
}

// The kernel drivers share one resolution per apply: the registry behind a
// Book is fetched once, not once per driver.
func TestMultiResolvesOncePerApply(t *testing.T) {
	res := &countingResolver{Targets: Targets{"web": {Cgroup: "w", Interface: "veth0"}}}
	a, b := &recordingDriver{}, &recordingDriver{}
	m := &Multi{Drivers: []Driver{a, b}, Resolver: res}
	if err := m.Apply(context.Background(), []bidding.Allocation{{Service: "web", CPU: 100}}); err != nil {
		t.Fatal(err)
	}
	if res.calls != 1 {
		t.Fatalf("resolved %d times, want once", res.calls)
	}
	for _, d := range []*recordingDriver{a, b} {
		if len(d.got) != 1 || d.got[0].target.Interface != "veth0" || d.got[0].CPU != 100 {
			t.Fatalf("driver got %+v", d.got)
		}
	}
}

package enforce

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/allot-dev/allot/bidding"
)

func plan(index uint64, cpu int64) bidding.Plan {
	return bidding.Plan{Epoch: index, Index: index, Allocations: []bidding.Allocation{
		{Service: "web", Node: "n1", CPU: cpu}, {Service: "db", Node: "n2", CPU: 9}, {Service: "api", Node: "n1", CPU: 1}}}
}

func TestReconcilerOrderSliceAndPersistence(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	r := NewReconciler("n1", &DryRun{Out: &out}, dir, nil)
	ctx := context.Background()
	if ok, err := r.Apply(ctx, plan(5, 100)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if strings.Contains(out.String(), "db") || !strings.Contains(out.String(), "web") {
		t.Fatalf("applied another node's slice: %s", out.String())
	}
	if ok, _ := r.Apply(ctx, plan(4, 999)); ok {
		t.Fatal("an older plan was applied")
	}
	// A restarted client re-applies the persisted plan.
	out.Reset()
	r2 := NewReconciler("n1", &DryRun{Out: &out}, dir, nil)
	if err := r2.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if p := r2.Current(); p == nil || p.Index != 5 || !strings.Contains(out.String(), "cpu=100m") {
		t.Fatalf("restored %+v, output %q", p, out.String())
	}
}

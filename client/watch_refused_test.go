package client

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/client/workload"
	"github.com/allot-dev/allot/internal/waitfor"
	"github.com/hashicorp/go-hclog"
)

// refusingAPI answers every plan watch with 403, as a server with ACLs does
// for an agent without a token.
type refusingAPI struct{ *fakeAPI }

func (refusingAPI) WatchNodePlan(context.Context, string, uint64, time.Duration) (bidding.Plan, error) {
	return bidding.Plan{}, &api.Error{Code: 403, Msg: "missing X-Allot-Token"}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Finding 13 of issue 13: a client agent without an ACL token failed its
// plan watch only at DEBUG level; it is an ERROR naming the fix.
func TestRefusedPlanWatchIsAnError(t *testing.T) {
	out := &lockedBuf{}
	log := hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Error})
	run(t, Config{Node: "n1", API: refusingAPI{newFakeAPI()}, Runtimes: []workload.Runtime{newFakeRuntime()}, Log: log})
	waitfor.True(t, "an ERROR about the refused plan watch", 5*time.Second, func() bool {
		return strings.Contains(out.String(), "[ERROR]") && strings.Contains(out.String(), "acl { tokens { agent")
	})
}

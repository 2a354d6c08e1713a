package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/config"
	"github.com/hashicorp/go-hclog"
)

// TestAgentWithACLs: acl.enabled from the config reaches the API of a real
// agent: health stays open, everything else wants a token, bootstrap works once.
func TestAgentWithACLs(t *testing.T) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := map[string]string{"ALLOT_ACL_ENABLED": "true"}
	cfg, err := config.Load([]string{"--server", "--bootstrap-expect", "1", "--node", "n1", "--data-dir", t.TempDir(),
		"--bind", "127.0.0.1", "--advertise", "127.0.0.1", "--http-addr", httpAddr,
		"--gossip-port", fmt.Sprint(freePort(t)), "--raft-port", fmt.Sprint(freePort(t))}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := New(cfg, hclog.NewNullLogger(), "test")
	ctx, cancel := context.WithCancel(context.Background())
	runAgent(t, a, ctx, cancel)
	anon := api.NewClient(httpAddr, "")
	waitFor(t, "a leader", 20*time.Second, func() bool {
		_, err := anon.Do(ctx, "GET", "/v1/health", nil, nil)
		return err == nil
	})
	var ae *api.Error
	if _, err := anon.Do(ctx, "GET", "/v1/services", nil, nil); !errors.As(err, &ae) || ae.Code != 403 || ae.Msg != "missing X-Allot-Token" {
		t.Fatalf("services without a token: %v", err)
	}
	var boot api.ACLTokenView
	if _, err := anon.Do(ctx, "PUT", "/v1/acl/bootstrap", nil, &boot); err != nil || boot.SecretID == "" {
		t.Fatalf("bootstrap: %+v %v", boot, err)
	}
	if _, err := anon.Do(ctx, "PUT", "/v1/acl/bootstrap", nil, nil); !errors.As(err, &ae) || ae.Code != 403 {
		t.Fatalf("second bootstrap: %v", err)
	}
	op := api.NewClient(httpAddr, boot.SecretID)
	if _, err := op.Do(ctx, "GET", "/v1/services", nil, nil); err != nil {
		t.Fatalf("services with the operator token: %v", err)
	}
}

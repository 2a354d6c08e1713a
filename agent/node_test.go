package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/config"
	"github.com/hashicorp/go-hclog"
)

// TestExplicitEnforcementUnavailableStopsBeforeBinding: a client asked for
// cgroup-v1 that it cannot use (here a parent cgroup climbing out of the
// hierarchy, refused on any host, root or not) fails Run with an error
// naming enforcement, before the HTTP API is bound.
func TestExplicitEnforcementUnavailableStopsBeforeBinding(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.hcl")
	if err := os.WriteFile(f, []byte(`client { cgroup_parent = "/../escape" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	http := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, err := config.Load([]string{"--config", f, "--client", "--enforce", "cgroup-v1", "--node", "c1", "--data-dir", dir,
		"--bind", "127.0.0.1", "--http-addr", http, "--gossip-port", fmt.Sprint(freePort(t))}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := New(cfg, hclog.NewNullLogger(), "test")
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "client: enforcement") || !strings.Contains(err.Error(), `enforce = "cgroup-v1"`) {
		t.Fatalf("Run: %v", err)
	}
	if a.HTTPAddr() != "" {
		t.Fatalf("the HTTP API was bound (%s) before enforcement was refused", a.HTTPAddr())
	}
	t.Log(err)
}

// TestDockerAskedForButUnreachableStopsBeforeBinding: --docker with a
// socket nothing listens on stops the agent with an error naming the
// socket, before the HTTP API is bound.
func TestDockerAskedForButUnreachableStopsBeforeBinding(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "no-docker.sock")
	http := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg, err := config.Load([]string{"--client", "--docker", "--enforce", "none", "--node", "c1", "--data-dir", dir,
		"--bind", "127.0.0.1", "--http-addr", http, "--gossip-port", fmt.Sprint(freePort(t))},
		func(k string) string {
			if k == "ALLOT_CLIENT_DOCKER_SOCKET" {
				return sock
			}
			return ""
		}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := New(cfg, hclog.NewNullLogger(), "test")
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker daemon") || !strings.Contains(err.Error(), sock) {
		t.Fatalf("Run: %v", err)
	}
	if a.HTTPAddr() != "" {
		t.Fatalf("the HTTP API was bound (%s) before the Docker runtime was refused", a.HTTPAddr())
	}
	t.Log(err)
}

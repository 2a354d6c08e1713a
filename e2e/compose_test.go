//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
)

// TestComposeFirstMinute runs deploy/docker-compose.yml as `make compose-up`
// does, under a project name, subnet and API port of its own (issue 14: the
// compose cluster's fixed names collided on a shared host, and it showed
// nothing for five minutes), and waits for a plan that allocates every
// loadgen workload of the file to the client that runs it.
func TestComposeFirstMinute(t *testing.T) {
	needDocker(t)
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed: skipping the compose cluster")
	}
	project := fmt.Sprintf("allot-e2e-compose-%d", os.Getpid())
	subnet := fmt.Sprintf("10.%d.%d", 100+rand.IntN(100), rand.IntN(250))
	port := freePort(t)
	env := append(os.Environ(), "ALLOT_IMAGE="+imageName, "ALLOT_SUBNET="+subnet, "ALLOT_HTTP_PORT="+strconv.Itoa(port))
	run := func(args ...string) (string, error) {
		cmd := exec.Command(compose, append([]string{"-f", "../deploy/docker-compose.yml", "-p", project}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := run("down", "-v", "--timeout", "5"); err != nil {
			t.Logf("compose down: %v\n%s", err, out)
		}
	})
	start := time.Now()
	if out, err := run("up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	want := map[string]string{"web": "client1", "api": "client1", "batch": "client2", "cache": "client2"}
	c := api.NewClient("127.0.0.1:"+strconv.Itoa(port), "")
	deadline := time.Now().Add(3 * time.Minute)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p, err := c.Plan(ctx, 0)
		cancel()
		got := map[string]string{}
		for _, a := range p.Allocations {
			got[a.Service] = a.Node
		}
		ok := err == nil
		for s, n := range want {
			ok = ok && got[s] == n
		}
		if ok {
			t.Logf("epoch %d allocates %v, %s after compose up", p.Epoch, got, time.Since(start).Round(time.Second))
			break
		}
		last = fmt.Sprintf("err %v, allocations %v", err, got)
		if time.Now().After(deadline) {
			logs, _ := run("logs", "--tail", "20", "client1", "client2", "server1")
			t.Fatalf("no plan allocating %v within 3 minutes (last: %s)\n%s", want, last, logs)
		}
		time.Sleep(2 * time.Second)
	}
	// Nine containers under the project name: five agents, four workloads.
	out, err := run("ps", "-q")
	if err != nil || len(strings.Fields(out)) != 9 {
		t.Errorf("compose ps: %d containers (%v), want 9: %s", len(strings.Fields(out)), err, out)
	}
}

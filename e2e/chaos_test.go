//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestChaos runs E2E_CHAOS_SEEDS random fault schedules (make chaos
// SEEDS=N). Each seed gets a fresh cluster (containers when Docker is
// available, else processes without partitions), a bounded load, a schedule
// of faults drawn from the seed, and the same checks as the scenarios.
// Replay one schedule with E2E_CHAOS_SEED=<seed> E2E_CHAOS_SEEDS=1.
func TestChaos(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("E2E_CHAOS_SEEDS"))
	if n <= 0 {
		t.Skip("set E2E_CHAOS_SEEDS=N (make chaos SEEDS=N) to run random fault schedules")
	}
	base := uint64(time.Now().UnixNano() % 1_000_000)
	if v := os.Getenv("E2E_CHAOS_SEED"); v != "" {
		b, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("E2E_CHAOS_SEED=%q is not a number", v)
		}
		base = b
	}
	useDocker := os.Getenv("E2E_NO_DOCKER") == "" && exec.Command("docker", "info").Run() == nil
	t.Logf("chaos: %d schedules, seeds %d..%d, on %s", n, base, base+uint64(n)-1, map[bool]string{true: "containers", false: "processes (no partitions)"}[useDocker])
	for i := 0; i < n; i++ {
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("replay with: E2E_CHAOS_SEED=%d E2E_CHAOS_SEEDS=1 make chaos", seed)
			var c Cluster
			if useDocker {
				c = dockerFor(t)
			} else {
				c = newProcCluster(t, 1)
			}
			runSchedule(t, c, seed)
		})
	}
}

type fault struct {
	name  string
	apply func(t *testing.T, c Cluster, r *rand.Rand) (heal func())
}

func chaosFaults(c Cluster) []fault {
	pick := func(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }
	leaderOrAny := func(t *testing.T, c Cluster, r *rand.Rand) string {
		if r.IntN(2) == 0 {
			return waitLeader(t, c, 30*time.Second)
		}
		return pick(r, c.Servers())
	}
	fs := []fault{
		{"kill -9 server", func(t *testing.T, c Cluster, r *rand.Rand) func() {
			s := leaderOrAny(t, c, r)
			t.Logf("  kill -9 %s", s)
			must(t, c.Kill(s))
			return func() { must(t, c.Start(s)) }
		}},
		{"restart server", func(t *testing.T, c Cluster, r *rand.Rand) func() {
			s := leaderOrAny(t, c, r)
			t.Logf("  stop %s (SIGTERM)", s)
			must(t, c.Stop(s))
			return func() { must(t, c.Start(s)) }
		}},
		{"kill -9 client", func(t *testing.T, c Cluster, r *rand.Rand) func() {
			s := pick(r, c.Clients())
			t.Logf("  kill -9 client %s", s)
			must(t, c.Kill(s))
			return func() { must(t, c.Start(s)) }
		}},
	}
	if p, ok := c.(Partitioner); ok {
		fs = append(fs, fault{"partition server", func(t *testing.T, c Cluster, r *rand.Rand) func() {
			s := leaderOrAny(t, c, r)
			t.Logf("  partition %s", s)
			must(t, p.Partition(s))
			return func() { must(t, p.Heal(s)) }
		}})
	}
	return fs
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// runSchedule applies three faults drawn from the seed, one at a time (each
// held 0.5 to 3 s, then healed, then the cluster is given time to settle),
// under load; then checks the history and the cross-node invariants.
func runSchedule(t *testing.T, c Cluster, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0xa110c))
	setup(t, c)
	rec := newRecorder()
	load := startLoadN(t, c, rec, seed, 12)
	fs := chaosFaults(c)
	for step := 0; step < 3; step++ {
		f := fs[r.IntN(len(fs))]
		hold := time.Duration(500+r.IntN(2500)) * time.Millisecond
		t.Logf("step %d: %s, held %s", step+1, f.name, hold)
		heal := f.apply(t, c, r)
		time.Sleep(hold)
		heal()
		waitLeader(t, c, 30*time.Second)
		waitVoters(t, c, 3, 30*time.Second)
		time.Sleep(time.Duration(r.IntN(1000)) * time.Millisecond)
	}
	load.finish(t)
}

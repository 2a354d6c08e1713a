package enforce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/allot-dev/allot/cgroups"
	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-hclog"
)

// The OOM decoy. Borrowing (Borrow), when a node's memory is all used the
// kernel's OOM killer takes the process furthest above its reservation
// first, as OOMScoreAdj ranks them. But the kernel can kill twice: a
// victim's memory is still being freed when it stops counting as one, and
// a service within its reservation that kept allocating meanwhile was the
// next in line (kerneltest TestMemoryBorrowKillsTheBorrower, in 1 to 9 of
// 10 runs). The decoy is a small process in the services' memory domain,
// ranked above every service at or below its reservation and below any
// service well above its own: a second kill takes it instead, and the
// client starts it again.
const (
	// DecoyMemory is what the decoy holds resident. Its badness is that
	// memory plus oom_score_adj 1000 scaled by the kernel (× totalpages /
	// 1000, an integer division that costs it up to 999 pages, 4 MiB);
	// a service's at its reservation is at most totalpages, OOMScoreAdj
	// rounding down. 8 MiB clears the difference with room to spare.
	DecoyMemory = 8 << 20
	// DecoyCgroupName is the decoy's cgroup under client.cgroup_parent.
	DecoyCgroupName = "allot-oom-decoy"
)

// RunDecoy is the decoy process's body (allot oom-decoy): it joins every
// cgroup.procs file of join before it holds anything (a v1 memory cgroup
// does not take the charges of a process that moves in), asks the OOM
// killer to take it first (oom_score_adj 1000: raising needs no
// privilege), holds bytes resident and waits for ctx.
func RunDecoy(ctx context.Context, join []string, bytes int64) error {
	pid := strconv.Itoa(os.Getpid())
	for _, f := range join {
		if err := writeExisting(f, pid); err != nil {
			return fmt.Errorf("joining the decoy's cgroup: %w", err)
		}
	}
	if err := writeExisting("/proc/self/oom_score_adj", "1000"); err != nil {
		return fmt.Errorf("ranking the decoy first for the OOM killer: %w", err)
	}
	buf := make([]byte, bytes)
	for i := 0; i < len(buf); i += os.Getpagesize() {
		buf[i] = 1
	}
	<-ctx.Done()
	runtime.KeepAlive(buf)
	return nil
}

// Decoy keeps the decoy process running on a borrowing node: started
// again after every exit, at most every few seconds. A decoy killed by
// SIGKILL was, unless someone sent it by hand, the OOM killer's choice:
// logged, and counted by Killed.
type Decoy struct {
	Argv   []string // its command: allot oom-decoy --memory … --join …
	Log    hclog.Logger
	Killed func() // called at each SIGKILL (nil: none)
}

// Run runs the decoy until ctx ends.
func (d *Decoy) Run(ctx context.Context) {
	log := d.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 500*time.Millisecond, 30*time.Second, 0
	for ctx.Err() == nil {
		started := time.Now()
		err := d.once(ctx)
		if ctx.Err() != nil {
			return
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				log.Warn("the OOM decoy was killed (SIGKILL): the kernel's OOM killer took it instead of a service within its reservation; starting it again")
				if d.Killed != nil {
					d.Killed()
				}
				err = nil
			}
		}
		if err != nil {
			log.Error("the OOM decoy stopped; starting it again", "error", err)
		}
		if time.Since(started) > time.Minute {
			b.Reset()
		}
		select {
		case <-ctx.Done():
		case <-time.After(b.NextBackOff()):
		}
	}
}

func (d *Decoy) once(ctx context.Context) error {
	if len(d.Argv) == 0 {
		return errors.New("the OOM decoy has no command")
	}
	cmd := exec.CommandContext(ctx, d.Argv[0], d.Argv[1:]...)
	cmd.SysProcAttr = decoyAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the OOM decoy: %w", err)
	}
	return cmd.Wait()
}

// Decoyer is a driver that can give the OOM decoy a cgroup in its services'
// memory domain (Cgroup, and Multi when one of its drivers is).
type Decoyer interface {
	DecoyCgroup(ctx context.Context) ([]string, error)
}

// DecoyCgroup implements Decoyer: it makes client.cgroup_parent's
// allot-oom-decoy cgroup in the memory hierarchy and returns its
// cgroup.procs, for the decoy to share the services' memory domain (the
// parent's, should it have a limit; the node's otherwise).
func (c *Cgroup) DecoyCgroup(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.prepareLocked(ctx); err != nil {
		return nil, err
	}
	parentRel, err := cgroups.CleanRel("client.cgroup_parent", c.parent)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(c.h.memoryDir(parentRel), DecoyCgroupName)
	if err := mkdir(dir); err != nil {
		return nil, fmt.Errorf("making the OOM decoy's cgroup: %w", err)
	}
	return []string{filepath.Join(dir, "cgroup.procs")}, nil
}

// DecoyCgroup implements Decoyer with the first driver that does.
func (m *Multi) DecoyCgroup(ctx context.Context) ([]string, error) {
	for _, d := range m.Drivers {
		if dc, ok := d.(Decoyer); ok {
			return dc.DecoyCgroup(ctx)
		}
	}
	return nil, nil
}

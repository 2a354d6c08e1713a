package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/enforce"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

const (
	cpuPeriod = 100000 // µs, the CFS period Allot sets
	minQuota  = 1000   // µs: the kernel refuses a quota under 1 ms
	// minMemory is the smallest memory limit the Engine accepts (6 MB).
	minMemory = 6 << 20
	// unlimitedMemory stands for "no memory limit": the Engine refuses
	// Memory -1 in an update (tested on 20.10: "Minimum memory limit
	// allowed is 6MB"), so a limit once set can only be raised, to this.
	unlimitedMemory = bidding.MaxQuantity
)

// applied is what was last applied to one container (and to which
// process: a restarted container has a new pid and gets everything again).
type applied struct {
	pid                                    int
	cpuQuota, cpuShares, memory, memoryRes int64
	io, net                                int64
}

// Apply implements workload.Runtime. Each allocation of a service this
// runtime manages is split evenly among the service's running containers
// (the remainder to the first by name) and applied: cpu and memory with
// ContainerUpdate, io through the container's blkio cgroup, net with tc on
// its host-side veth. A container that fails does not stop the others.
func (r *Runtime) Apply(ctx context.Context, allocs []bidding.Allocation) error {
	svcs, err := r.discover(ctx)
	if err != nil {
		return err
	}
	byName := make(map[string]service, len(svcs))
	for _, s := range svcs {
		byName[s.Def.Name] = s
	}
	var errs []error
	for _, a := range allocs {
		s, ok := byName[a.Service]
		if !ok || len(s.inst) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		for i, want := range r.plan(s, a) {
			if err := r.applyOne(ctx, s.Def.Name, s.inst[i], want); err != nil {
				errs = append(errs, fmt.Errorf("docker: service %s, container %s: %w", s.Def.Name, s.inst[i].Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// split divides total among n replicas: integer division, the remainder
// to the first.
func split(total int64, n int) []int64 {
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	each := total / int64(n)
	for i := range out {
		out[i] = each
	}
	out[0] += total - each*int64(n)
	return out
}

// plan turns a service's allocation into what each of its containers
// should get. A nonzero cpu or memory allocation is never taken below the
// service's own min (0 stays 0: no limit).
func (r *Runtime) plan(s service, a bidding.Allocation) []applied {
	n := len(s.inst)
	total := func(v, min int64) int64 {
		if v > 0 && v < min {
			return min
		}
		return v
	}
	cpu := split(total(a.CPU, s.Def.Min[bidding.CPU]), n)
	mem := split(total(a.Memory, s.Def.Min[bidding.Memory]), n)
	io := split(a.IO, n)
	nt := split(a.Net, n)
	out := make([]applied, n)
	for i := range out {
		out[i] = applied{pid: s.inst[i].Pid, cpuQuota: quota(cpu[i]), cpuShares: shares(cpu[i]), io: io[i], net: nt[i]}
		out[i].memory, out[i].memoryRes = memory(r.borrow, mem[i])
	}
	return out
}

// quota is the CFS quota (µs per 100 ms period) for millicores; -1 for 0.
func quota(millicores int64) int64 {
	if millicores <= 0 {
		return -1
	}
	return max(millicores*cpuPeriod/1000, minQuota)
}

// shares is the CFS weight for millicores: 1024 per core (the kernel's
// default for one), at least 2 (its minimum); 0 (no limit) keeps the
// default. Under contention the CPU a container gets is then in proportion
// to its allocation, as the quota caps it: without it every container
// weighs 1024, and the one with the larger quota absorbs the shortfall.
func shares(millicores int64) int64 {
	if millicores <= 0 {
		return 1024
	}
	return max(millicores*1024/1000, 2)
}

// memory is the hard limit and the reservation for bytes under b: the
// cgroup drivers' rule (enforce.Borrow.Memory: borrowing, the node's memory
// and bytes; else bytes and 95% of it) above the Engine's minimum.
func memory(b enforce.Borrow, bytes int64) (limit, reservation int64) {
	if bytes <= 0 {
		return unlimitedMemory, unlimitedMemory
	}
	return b.Memory(max(bytes, minMemory))
}

func (r *Runtime) applyOne(ctx context.Context, svc string, in instance, want applied) error {
	r.mu.Lock()
	last, seen := r.applied[in.ID]
	r.mu.Unlock()
	// Skip what was applied already, unless the daemon now holds other
	// values (someone ran docker update) or the container was restarted.
	memOK := in.res.Memory == want.memory || (want.memory == unlimitedMemory && in.res.Memory == 0)
	if seen && last == want && in.res.CPUQuota == want.cpuQuota && in.res.CPUShares == want.cpuShares && memOK {
		return nil
	}
	var errs []error
	done := want
	res := container.Resources{CPUPeriod: cpuPeriod, CPUQuota: want.cpuQuota, CPUShares: want.cpuShares}
	switch {
	case want.memory == unlimitedMemory && in.res.Memory == 0:
		// never limited: nothing to lift (and no reservation to set)
	case want.memory < in.res.Memory || in.res.Memory == 0:
		usage, err := r.memoryUsage(in.Cgroup)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("memory limit not lowered: %w", err))
			done.memory = -2 // not applied: retry next time
		case want.memory < usage:
			// Never OOM-kill: only the reservation goes down; the hard limit
			// waits until reclaim brings usage under it (the apply is retried).
			errs = append(errs, fmt.Errorf("memory limit %d is below current usage %d; kept the hard limit %d, set only the reservation %d",
				want.memory, usage, in.res.Memory, want.memoryRes))
			if in.res.Memory == 0 || want.memoryRes < in.res.Memory {
				res.MemoryReservation = want.memoryRes
			}
			done.memory = -2
		default:
			res.Memory, res.MemorySwap, res.MemoryReservation = want.memory, want.memory, want.memoryRes
		}
	default:
		res.Memory, res.MemorySwap, res.MemoryReservation = want.memory, want.memory, want.memoryRes
	}
	res.BlkioDeviceReadBps, res.BlkioDeviceWriteBps = r.blkioDevices(want.io)
	if _, err := r.eng.ContainerUpdate(ctx, in.ID, client.ContainerUpdateOptions{Resources: &res}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return errVanished
		}
		return errors.Join(append(errs, fmt.Errorf("the Docker daemon refused the update (cpu quota %d, memory %d): %w",
			res.CPUQuota, res.Memory, err))...)
	}
	if err := r.writeBlkio(in.Cgroup, want.io); err != nil {
		errs = append(errs, err)
		done.io = -1
	}
	if err := r.rank(in.Cgroup, want.memoryRes); err != nil {
		errs = append(errs, err)
		done.memoryRes = -2 // ranked again next time
	}
	if in.Interface != "" {
		key := svc + "/" + in.Name
		tc := enforce.NewTC(r.nl, enforce.Targets{key: {Interface: in.Interface}}, r.log)
		if err := tc.Apply(ctx, []bidding.Allocation{{Service: key, Net: want.net}}); err != nil {
			errs = append(errs, err)
			done.net = -1
		}
	}
	r.mu.Lock()
	r.applied[in.ID] = done
	r.mu.Unlock()
	return errors.Join(errs...)
}

// memoryDir is a container's memory cgroup (v1 memory hierarchy, else v2).
func (r *Runtime) memoryDir(cgroup string) (string, error) {
	switch {
	case cgroup == "":
		return "", errors.New("its cgroup is unknown")
	case r.layout.V1.Memory != "":
		return filepath.Join(r.layout.V1.Memory, cgroup), nil
	case r.layout.V2 != "":
		return filepath.Join(r.layout.V2, cgroup), nil
	}
	return "", errors.New("no memory cgroup is mounted")
}

// memoryUsage reads a container's memory usage from its memory cgroup
// (v1 memory.usage_in_bytes, v2 memory.current).
func (r *Runtime) memoryUsage(cgroup string) (int64, error) {
	dir, err := r.memoryDir(cgroup)
	if err != nil {
		return 0, fmt.Errorf("its memory usage cannot be read: %w", err)
	}
	file := filepath.Join(dir, "memory.current")
	if r.layout.V1.Memory != "" {
		file = filepath.Join(dir, "memory.usage_in_bytes")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("reading memory usage: %w", err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading memory usage from %s: %w", file, err)
	}
	return v, nil
}

// rank gives the container's processes the oom_score_adj of their
// reservation (enforce.Borrow.Rank), borrowing; the Engine's own
// OomScoreAdj is fixed when a container is created, so its memory cgroup's
// processes are written directly.
func (r *Runtime) rank(cgroup string, reservation int64) error {
	if !r.borrow.On() {
		return nil
	}
	dir, err := r.memoryDir(cgroup)
	if err != nil {
		return fmt.Errorf("its processes cannot be ranked for the OOM killer: %w", err)
	}
	b := r.borrow
	if b.Proc == "" {
		b.Proc = r.procDir
	}
	return b.Rank(dir, reservation)
}

// blkioDevices is the Engine's form of an io limit: one throttle per
// configured device, by /dev path. Engine 20.10 accepts these fields in an
// update and silently drops them (tested), so writeBlkio is what enforces.
func (r *Runtime) blkioDevices(bps int64) (rd, wr []*blkiodev.ThrottleDevice) {
	if bps <= 0 {
		return nil, nil
	}
	for _, d := range r.devices {
		p, err := r.devPath(d)
		if err != nil {
			continue
		}
		rd = append(rd, &blkiodev.ThrottleDevice{Path: p, Rate: uint64(bps)})
		wr = append(wr, &blkiodev.ThrottleDevice{Path: p, Rate: uint64(bps)})
	}
	return rd, wr
}

// devPath maps MAJ:MIN to /dev/NAME through /sys/dev/block/MAJ:MIN/uevent.
func (r *Runtime) devPath(d enforce.Device) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.sysDir, "dev", "block", d.String(), "uevent"))
	if err != nil {
		return "", fmt.Errorf("finding block device %s: %w", d, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(l, "DEVNAME="); ok && name != "" {
			return "/dev/" + name, nil
		}
	}
	return "", fmt.Errorf("block device %s: no DEVNAME in its uevent", d)
}

// writeBlkio throttles the container's reads and writes on each device
// (v1 blkio.throttle.*_bps_device, "MAJ:MIN N", 0 removes the rule; v2
// io.max "MAJ:MIN rbps=N wbps=N", 0 is "max").
func (r *Runtime) writeBlkio(cgroup string, bps int64) error {
	if len(r.devices) == 0 || cgroup == "" {
		return nil
	}
	var errs []error
	write := func(file, v string) {
		if err := os.WriteFile(file, []byte(v), 0); err != nil {
			errs = append(errs, fmt.Errorf("writing %q to %s: %w", v, file, err))
		}
	}
	for _, d := range r.devices {
		switch {
		case r.layout.V1.Blkio != "":
			dir := filepath.Join(r.layout.V1.Blkio, cgroup)
			v := fmt.Sprintf("%s %d", d, max(bps, 0))
			write(filepath.Join(dir, "blkio.throttle.read_bps_device"), v)
			write(filepath.Join(dir, "blkio.throttle.write_bps_device"), v)
		case r.layout.V2 != "":
			n := "max"
			if bps > 0 {
				n = strconv.FormatInt(bps, 10)
			}
			write(filepath.Join(r.layout.V2, cgroup, "io.max"), fmt.Sprintf("%s rbps=%s wbps=%s", d, n, n))
		default:
			if r.once("noblkio") {
				r.log.Warn("io is not enforced: no blkio (v1) or io (v2) cgroup is mounted")
			}
			return nil
		}
	}
	return errors.Join(errs...)
}

// Limits are the limits a container's cgroup shows under an allocation of
// cpu millicores and mem bytes for it (quota and memory's rules above):
// cpu in millicores and memory in bytes, -1 for no limit. The memory is the
// hard limit, or borrowing (enforce.Borrow) the reservation: the soft limit
// (v1) or memory.low (v2), the Engine's MemoryReservation. For checking
// what the runtime did from outside (make live).
func Limits(cpu, mem int64, borrowing bool) (cpuLimit, memLimit int64) {
	cpuLimit, memLimit = -1, -1
	if q := quota(cpu); q > 0 {
		cpuLimit = q * 1000 / cpuPeriod
	}
	switch l, _ := memory(enforce.Borrow{}, mem); {
	case l == unlimitedMemory:
	case borrowing:
		memLimit = max(mem, minMemory)
	default:
		memLimit = l
	}
	return cpuLimit, memLimit
}

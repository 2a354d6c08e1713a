package enforce

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-hclog"
)

// NewCgroupV1 returns the driver for v1 hierarchies: per service
// cpu.cfs_period_us and cpu.cfs_quota_us, memory.soft_limit_in_bytes and
// memory.limit_in_bytes, and blkio.throttle.{read,write}_bps_device for
// each configured device. Blkio may be empty: io is then not enforced.
//
// When cpuacct is a hierarchy of its own (m.CPUAcct set and not m.CPU), the
// driver also creates, and keeps, the parent and each service's cgroup
// there: nothing is limited in cpuacct, but that is where package usage
// reads cpu time, and a cgroup nobody created measures nothing. Whoever
// starts a service puts its PIDs into its cgroup in every hierarchy (cpu,
// cpuacct, memory, blkio); the driver never moves processes.
func NewCgroupV1(m V1Mounts, cfg CgroupConfig) *Cgroup {
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	return newCgroup(&v1{m: m, devices: cfg.Devices, borrow: cfg.Borrow, log: cfg.Log.Named("cgroup-v1")}, cfg)
}

type v1 struct {
	m       V1Mounts
	devices []Device
	borrow  Borrow
	log     hclog.Logger
}

func (h *v1) name() string { return "cgroup-v1" }

func (h *v1) memoryDir(rel string) string { return filepath.Join(h.m.Memory, rel) }

func (h *v1) ioOff() string {
	switch {
	case len(h.devices) == 0:
		return "no block devices configured (client.io_devices)"
	case h.m.Blkio == "":
		return "no blkio hierarchy is mounted"
	}
	return ""
}

func (h *v1) prepare(parentRel string) error {
	if h.m.CPU == "" || h.m.Memory == "" {
		return fmt.Errorf("the cpu and memory hierarchies must both be mounted (cpu at %q, memory at %q)", h.m.CPU, h.m.Memory)
	}
	dirs := []string{h.m.CPU, h.m.Memory}
	if h.m.CPUAcctSeparate() {
		dirs = append(dirs, h.m.CPUAcct)
	}
	if h.ioOff() == "" {
		dirs = append(dirs, h.m.Blkio)
	}
	for _, d := range dirs {
		if err := mkdir(filepath.Join(d, parentRel)); err != nil {
			return err
		}
	}
	return nil
}

func (h *v1) create(rel string) error {
	dirs := []string{h.m.CPU, h.m.Memory}
	if h.m.CPUAcctSeparate() {
		dirs = append(dirs, h.m.CPUAcct)
	}
	if h.m.Blkio != "" { // measured even when io is not limited
		dirs = append(dirs, h.m.Blkio)
	}
	var errs []error
	for _, d := range dirs {
		errs = append(errs, mkdir(filepath.Join(d, rel)))
	}
	return errors.Join(errs...)
}

func (h *v1) apply(rel string, a bidding.Allocation) error {
	var acct error
	if h.m.CPUAcctSeparate() {
		acct = mkdir(filepath.Join(h.m.CPUAcct, rel)) // measured there, limited nowhere
	}
	return errors.Join(h.cpu(filepath.Join(h.m.CPU, rel), a.CPU), acct, h.memory(filepath.Join(h.m.Memory, rel), a.Service, a.Memory), h.io(rel, a.IO))
}

func (h *v1) cpu(dir string, millicores int64) error {
	if err := mkdir(dir); err != nil {
		return err
	}
	if err := writeValue(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriod)); err != nil {
		return err
	}
	return writeValue(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(cpuQuota(millicores), 10))
}

// memory writes the soft limit first, then the hard limit. A v1 kernel
// asked for a hard limit below what it can reclaim refuses with EBUSY
// instead of OOM-killing; the old limit then stays, and the error says so.
// Borrowing (Borrow), the soft limit is the allocation, the hard limit the
// node's memory, and the processes are ranked for the OOM killer by the
// allocation.
func (h *v1) memory(dir, service string, alloc int64) error {
	if err := mkdir(dir); err != nil {
		return err
	}
	limit, softB := h.borrow.Memory(alloc)
	soft, hard := "-1", "-1"
	if limit > 0 {
		soft, hard = strconv.FormatInt(softB, 10), strconv.FormatInt(limit, 10)
	}
	if err := writeValue(filepath.Join(dir, "memory.soft_limit_in_bytes"), soft); err != nil {
		return err
	}
	file := filepath.Join(dir, "memory.limit_in_bytes")
	err := writeValue(file, hard)
	if errors.Is(err, syscall.EBUSY) {
		usage, _ := readInt(filepath.Join(dir, "memory.usage_in_bytes"))
		h.log.Warn("the kernel refused to lower the memory limit below what the cgroup uses; the old limit stays",
			"service", service, "file", file, "usage", usage, "limit", limit)
		return fmt.Errorf("%s kept its old value: the kernel could not reclaim the cgroup's %d bytes below %d (%w)", file, usage, limit, syscall.EBUSY)
	}
	if err != nil {
		return err
	}
	return h.borrow.Rank(dir, alloc)
}

func (h *v1) io(rel string, bps int64) error {
	if h.ioOff() != "" {
		return nil
	}
	dir := filepath.Join(h.m.Blkio, rel)
	if err := mkdir(dir); err != nil {
		return err
	}
	var errs []error
	for _, d := range h.devices {
		v := fmt.Sprintf("%s %d", d, max(bps, 0)) // 0 removes the device's rule
		errs = append(errs, writeValue(filepath.Join(dir, "blkio.throttle.read_bps_device"), v),
			writeValue(filepath.Join(dir, "blkio.throttle.write_bps_device"), v))
	}
	return errors.Join(errs...)
}

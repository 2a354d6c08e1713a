package enforce

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot/bidding"
	"github.com/hashicorp/go-hclog"
)

// NewCgroupV2 returns the driver for the unified hierarchy mounted at root
// (normally /sys/fs/cgroup): per service cpu.max, memory.high and
// memory.max, and io.max for each configured device.
func NewCgroupV2(root string, cfg CgroupConfig) *Cgroup {
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	return newCgroup(&v2{root: root, devices: cfg.Devices, borrow: cfg.Borrow, log: cfg.Log.Named("cgroup-v2")}, cfg)
}

type v2 struct {
	root    string
	devices []Device
	borrow  Borrow
	log     hclog.Logger
	ctrls   []string // enabled down to every service: cpu, memory (+ io)
	noIO    string
}

func (h *v2) name() string  { return "cgroup-v2" }
func (h *v2) ioOff() string { return h.noIO }

func (h *v2) memoryDir(rel string) string { return filepath.Join(h.root, rel) }

func (h *v2) create(rel string) error {
	if err := mkdir(filepath.Join(h.root, rel)); err != nil {
		return err
	}
	return h.enableDown(path.Dir(rel))
}

func (h *v2) prepare(parentRel string) error {
	file := filepath.Join(h.root, "cgroup.controllers")
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	avail := strings.Fields(string(b))
	h.ctrls = nil
	for _, c := range []string{"cpu", "memory"} {
		if !slices.Contains(avail, c) {
			return fmt.Errorf("controller %s is not available in %s (it lists %q; on a hybrid host it is bound to a v1 hierarchy: use cgroup-v1)", c, file, avail)
		}
		h.ctrls = append(h.ctrls, c)
	}
	switch {
	case len(h.devices) == 0:
		h.noIO = "no block devices configured (client.io_devices)"
	case !slices.Contains(avail, "io"):
		h.noIO = "the io controller is not available in " + file
	default:
		h.noIO = ""
		h.ctrls = append(h.ctrls, "io")
	}
	if err := mkdir(filepath.Join(h.root, parentRel)); err != nil {
		return err
	}
	return h.enableDown(parentRel)
}

// enableDown enables the controllers in cgroup.subtree_control of the root
// and of every directory down to rel, writing only what is missing (a
// plain directory standing in for cgroupfs keeps the "+" of what was
// written; it is read past).
func (h *v2) enableDown(rel string) error {
	dirs := []string{h.root}
	if rel != "" && rel != "." {
		d := h.root
		for _, el := range strings.Split(rel, "/") {
			d = filepath.Join(d, el)
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		file := filepath.Join(d, "cgroup.subtree_control")
		b, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", file, err)
		}
		var on []string
		for _, f := range strings.Fields(string(b)) {
			on = append(on, strings.TrimPrefix(f, "+"))
		}
		var add []string
		for _, c := range h.ctrls {
			if !slices.Contains(on, c) {
				add = append(add, "+"+c)
			}
		}
		if len(add) == 0 {
			continue
		}
		if err := writeValue(file, strings.Join(add, " ")); err != nil {
			return fmt.Errorf("enabling controllers: %w", err)
		}
	}
	return nil
}

func (h *v2) apply(rel string, a bidding.Allocation) error {
	dir := filepath.Join(h.root, rel)
	if err := mkdir(dir); err != nil {
		return err
	}
	if err := h.enableDown(path.Dir(rel)); err != nil {
		return err
	}
	var errs []error
	cpu := "max " + strconv.Itoa(cpuPeriod)
	if q := cpuQuota(a.CPU); q > 0 {
		cpu = fmt.Sprintf("%d %d", q, cpuPeriod)
	}
	errs = append(errs, writeValue(filepath.Join(dir, "cpu.max"), cpu))
	errs = append(errs, h.memory(dir, a.Service, a.Memory))
	if h.noIO == "" {
		for _, d := range h.devices {
			v := fmt.Sprintf("%s rbps=max wbps=max", d)
			if a.IO > 0 {
				v = fmt.Sprintf("%s rbps=%d wbps=%d", d, a.IO, a.IO)
			}
			errs = append(errs, writeValue(filepath.Join(dir, "io.max"), v))
		}
	}
	return errors.Join(errs...)
}

// memory writes memory.high before memory.max. Writing memory.high makes
// the kernel reclaim down to it; memory.max is then lowered only if usage
// already fits, because a memory.max below what the cgroup uses and cannot
// reclaim OOM-kills on the spot. Otherwise memory.max keeps its old value
// and the apply reports it, so it is retried once reclaim has caught up.
// Borrowing (Borrow), the allocation is memory.low (protected from
// reclaim), memory.high is max, memory.max the node's memory, and the
// processes are ranked for the OOM killer by the allocation.
func (h *v2) memory(dir, service string, alloc int64) error {
	limit, soft := h.borrow.Memory(alloc)
	if limit <= 0 {
		return errors.Join(writeValue(filepath.Join(dir, "memory.high"), "max"), writeValue(filepath.Join(dir, "memory.max"), "max"))
	}
	high := strconv.FormatInt(soft, 10)
	if h.borrow.On() {
		if err := writeValue(filepath.Join(dir, "memory.low"), high); err != nil {
			return err
		}
		high = "max"
	}
	if err := writeValue(filepath.Join(dir, "memory.high"), high); err != nil {
		return err
	}
	usage, err := readInt(filepath.Join(dir, "memory.current"))
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "memory.max")
	if usage > limit {
		h.log.Warn("not lowering memory.max below current usage; memory.high is set so the kernel reclaims first",
			"service", service, "file", file, "usage", usage, "limit", limit)
		return fmt.Errorf("%s not lowered to %d: the cgroup uses %d (memory.high is %s; retried on the next apply)", file, limit, usage, high)
	}
	return errors.Join(writeValue(file, strconv.FormatInt(limit, 10)), h.borrow.Rank(dir, alloc))
}

package loadgen

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// memChunk is the size of one anonymous mapping; the last one holds the rest.
const memChunk = 4 << 20

// memHolder holds anonymous memory: mmapped (so releasing it gives it back
// to the kernel at once, unlike the Go heap), every page touched on each
// step so it stays resident and charged to the process's cgroup.
type memHolder struct {
	chunks [][]byte
	held   int64
	page   int64
	// total is the footprint --memory sizes: the process's anonymous
	// resident memory, or its cgroup's usage (--memory-of cgroup).
	total func() (int64, error)
}

func newMemHolder(of string) *memHolder {
	m := &memHolder{page: int64(os.Getpagesize()), total: processResident}
	if of == MemoryOfCgroup {
		m.total = cgroupUsage
	}
	return m
}

// cgroupUsage is the memory usage of the cgroup the process sees as its
// own (in a container: the container's): v2 memory.current, else v1
// memory.usage_in_bytes.
func cgroupUsage() (int64, error) {
	var errs []error
	for _, f := range []string{"/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading the cgroup's memory usage: %s: %w", f, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("reading the cgroup's memory usage: %w", errors.Join(errs...))
}

// set makes the process's resident size bytes: it holds bytes less what
// the rest of the process has resident (its runtime, code and stacks: a
// service "using 400 MiB" has a 400 MiB footprint in its cgroup, not 400
// MiB plus the load generator's own), rounded up to whole pages, and
// touches every page.
func (m *memHolder) set(bytes int64) error {
	if total, err := m.total(); err == nil {
		if held, err := m.resident(); err == nil {
			bytes -= max(0, total-held)
		}
	}
	bytes = max(0, bytes)
	target := (bytes + m.page - 1) / m.page * m.page
	for len(m.chunks) > 0 && m.held-int64(len(m.chunks[len(m.chunks)-1])) >= target {
		m.pop()
	}
	if m.held > target { // the last chunk is too long: map it again shorter
		n := int64(len(m.chunks[len(m.chunks)-1])) - (m.held - target)
		m.pop()
		if err := m.push(n); err != nil {
			return err
		}
	}
	for m.held < target {
		if err := m.push(min(memChunk, target-m.held)); err != nil {
			return err
		}
	}
	for _, c := range m.chunks {
		for i := 0; i < len(c); i += int(m.page) {
			c[i]++
		}
	}
	return nil
}

func (m *memHolder) push(n int64) error {
	b, err := syscall.Mmap(-1, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("mapping %d bytes with %d held: %w", n, m.held, err)
	}
	m.chunks = append(m.chunks, b)
	m.held += n
	return nil
}

func (m *memHolder) pop() {
	c := m.chunks[len(m.chunks)-1]
	m.chunks = m.chunks[:len(m.chunks)-1]
	m.held -= int64(len(c))
	_ = syscall.Munmap(c)
}

// resident counts the held bytes that are in memory now (mincore): what the
// process really got, which is less than what it touched only if pages were
// swapped out.
func (m *memHolder) resident() (int64, error) {
	var n int64
	vec := make([]byte, memChunk/m.page+1)
	for _, c := range m.chunks {
		pages := (int64(len(c)) + m.page - 1) / m.page
		_, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&c[0])), uintptr(len(c)), uintptr(unsafe.Pointer(&vec[0])))
		if e != 0 {
			return m.held, fmt.Errorf("mincore: %w", e)
		}
		for _, v := range vec[:pages] {
			if v&1 != 0 {
				n += m.page
			}
		}
	}
	return n, nil
}

// footprint is the process's anonymous resident size now (what "got" reports).
func (m *memHolder) footprint() (int64, error) {
	total, err := m.total()
	if err != nil {
		held, herr := m.resident()
		return held, errors.Join(err, herr)
	}
	return total, nil
}

// processResident is the process's anonymous resident memory
// (/proc/self/statm: resident less shared, i.e. file-backed, pages): what
// its cgroup is surely charged for (the binary's pages may be charged to
// whoever read them first).
func processResident() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("reading the resident size: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("reading the resident size: /proc/self/statm is %q", b)
	}
	res, err1 := strconv.ParseInt(f[1], 10, 64)
	shared, err2 := strconv.ParseInt(f[2], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("reading the resident size: %w", err)
	}
	return (res - shared) * int64(os.Getpagesize()), nil
}

func (m *memHolder) close() {
	for len(m.chunks) > 0 {
		m.pop()
	}
}

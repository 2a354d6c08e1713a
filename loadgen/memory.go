package loadgen

import (
	"fmt"
	"os"
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
}

func newMemHolder() *memHolder { return &memHolder{page: int64(os.Getpagesize())} }

// set holds bytes (rounded up to whole pages) and touches every page.
func (m *memHolder) set(bytes int64) error {
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

func (m *memHolder) close() {
	for len(m.chunks) > 0 {
		m.pop()
	}
}

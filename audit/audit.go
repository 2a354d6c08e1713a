// Package audit is the append-only log of accepted writes: one JSON line
// per write (who, what, when, at which Raft index) in DATA_DIR/audit/,
// rotated by size, read back by `allot audit` through GET /v1/audit.
package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Record is one accepted write.
type Record struct {
	Time     time.Time `json:"time"`
	Index    uint64    `json:"index"`
	Command  string    `json:"command"`            // the route, e.g. "PUT /v1/service/{name}"
	Key      string    `json:"key"`                // the path written, e.g. "/v1/service/web"
	Accessor string    `json:"accessor,omitempty"` // the token's accessor ("" with ACLs off)
	Client   string    `json:"client"`             // the caller's address (the first agent's view)
}

// File is the current log's name; rotated ones are File.1 (newest) to File.N.
const File = "audit.log"

// Log appends records to DIR/audit.log and rotates it at MaxBytes,
// keeping Keep old files.
type Log struct {
	dir      string
	maxBytes int64
	keep     int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (creating) the audit log in dir.
func Open(dir string, maxBytes int64, keep int) (*Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the audit log directory: %w", err)
	}
	l := &Log{dir: dir, maxBytes: maxBytes, keep: max(keep, 1)}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(filepath.Join(l.dir, File), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening the audit log: %w", err)
	}
	l.f, l.size = f, st.Size()
	if l.size > 0 { // end a line torn by a crash, so the next record stands alone
		last := make([]byte, 1)
		if r, err := os.Open(f.Name()); err == nil {
			_, rerr := r.ReadAt(last, l.size-1)
			r.Close()
			if rerr == nil && last[0] != '\n' {
				n, _ := f.Write([]byte{'\n'})
				l.size += int64(n)
			}
		}
	}
	return nil
}

// Append writes one record as a JSON line (and rotates first if the line
// would take the file past MaxBytes).
func (l *Log) Append(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding an audit record: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit log closed")
	}
	if l.size > 0 && l.size+int64(len(b)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	return nil
}

// rotate shifts audit.log.N-1 → .N … audit.log → .1 and starts a new file.
func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotating the audit log: %w", err)
	}
	l.f = nil
	base := filepath.Join(l.dir, File)
	os.Remove(base + "." + strconv.Itoa(l.keep))
	for i := l.keep - 1; i >= 1; i-- {
		os.Rename(base+"."+strconv.Itoa(i), base+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(base, base+".1"); err != nil {
		return fmt.Errorf("rotating the audit log: %w", err)
	}
	return l.open()
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Read returns the records in dir at or after since, oldest first (the
// rotated files, then the current one). A torn last line is skipped.
func Read(dir string, since time.Time) ([]Record, error) {
	var out []Record
	base := filepath.Join(dir, File)
	var names []string
	for i := 1; ; i++ {
		if _, err := os.Stat(base + "." + strconv.Itoa(i)); err != nil {
			break
		}
		names = append([]string{base + "." + strconv.Itoa(i)}, names...)
	}
	names = append(names, base)
	for _, n := range names {
		f, err := os.Open(n)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		err = scan(f, since, &out)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the audit log %s: %w", n, err)
		}
	}
	return out, nil
}

func scan(rd io.Reader, since time.Time, out *[]Record) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // a line torn by a crash mid-write
		}
		if !r.Time.Before(since) {
			*out = append(*out, r)
		}
	}
	return sc.Err()
}

// Read returns this log's records at or after since (see the package Read).
func (l *Log) Read(since time.Time) ([]Record, error) { return Read(l.dir, since) }

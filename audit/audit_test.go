package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAppendRotateRead(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 600, 2)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for i := range 20 {
		if err := l.Append(Record{Time: t0.Add(time.Duration(i) * time.Minute), Index: uint64(i + 1), Command: "PUT /v1/service/{name}", Key: fmt.Sprintf("/v1/service/s%d", i), Client: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, n := range []string{File, File + ".1", File + ".2"} {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil || st.Size() > 600 {
			t.Fatalf("%s: %v %v", n, st, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, File+".3")); err == nil {
		t.Fatal("kept more than 2 rotated files")
	}
	all, err := Read(dir, time.Time{})
	if err != nil || len(all) == 0 || all[len(all)-1].Index != 20 {
		t.Fatalf("read %d records, %v", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Index != all[i-1].Index+1 {
			t.Fatalf("records out of order or missing: %d after %d", all[i].Index, all[i-1].Index)
		}
	}
	recent, _ := Read(dir, t0.Add(18*time.Minute))
	if len(recent) != 2 || recent[0].Index != 19 {
		t.Fatalf("--since: %+v", recent)
	}
	// A torn last line (a crash mid-write) is skipped.
	f, _ := os.OpenFile(filepath.Join(dir, File), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-12-06T1`)
	f.Close()
	if again, err := Read(dir, time.Time{}); err != nil || len(again) != len(all) {
		t.Fatalf("torn line: %d records, %v", len(again), err)
	}
	// Reopening appends.
	l, _ = Open(dir, 600, 2)
	l.Append(Record{Time: t0.Add(time.Hour), Index: 21})
	l.Close()
	if again, _ := Read(dir, t0.Add(time.Hour)); len(again) != 1 {
		t.Fatalf("after reopening: %+v", again)
	}
}

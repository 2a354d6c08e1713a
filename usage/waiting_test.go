package usage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

func TestParseSchedstatAndTIDs(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"4964767 6023642 4\n", 6023642, false},
		{"1 2", 0, true},
		{"1 -2 3", 0, true},
		{"", 0, true},
	} {
		got, err := parseSchedstat([]byte(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseSchedstat(%q) = %d, %v", tc.in, got, err)
		}
	}
	if ids, err := parseTIDs([]byte("7\n\n12\n")); err != nil || len(ids) != 2 || ids[1] != 12 {
		t.Errorf("parseTIDs = %v, %v", ids, err)
	}
	for _, bad := range []string{"x\n", "0\n", "-3\n"} {
		if _, err := parseTIDs([]byte(bad)); err == nil {
			t.Errorf("parseTIDs(%q) accepted", bad)
		}
	}
}

// Waiting on a fake tree: two tasks each wait 600 ms per second; a task
// that appears between the readings does not count; one that exited is
// dropped; with no task in common there is no figure.
func TestWaitingFromSchedstat(t *testing.T) {
	root := t.TempDir()
	cpu, proc := filepath.Join(root, "cpu"), filepath.Join(root, "proc")
	dir := filepath.Join(cpu, "svc")
	write := func(f, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stat := func(tid int, runDelay int64) {
		write(filepath.Join(proc, fmt.Sprint(tid), "schedstat"), fmt.Sprintf("100 %d 3\n", runDelay))
	}
	r := New(Config{V1: V1{CPU: cpu}, ProcRoot: proc})
	t0 := time.Unix(1000, 0)
	write(filepath.Join(dir, "tasks"), "10\n11\n")
	stat(10, 1e9)
	stat(11, 5e9)
	if u, _ := r.ReadCgroup("k", "svc", "", t0); u.HaveWaiting {
		t.Fatal("a first reading has no rate")
	}
	write(filepath.Join(dir, "tasks"), "10\n11\n12\n")
	stat(10, 1e9+1.2e9)
	stat(11, 5e9+1.2e9)
	stat(12, 9e9) // new since the last reading
	u, _ := r.ReadCgroup("k", "svc", "", t0.Add(2*time.Second))
	if !u.HaveWaiting || u.Waiting != 1200 {
		t.Fatalf("waiting %v (measured %v), want 1200 millicores", u.Waiting, u.HaveWaiting)
	}
	u.Value[bidding.CPU], u.Have[bidding.CPU] = 300, true
	if d := u.CPUDemand(); d != 1500 {
		t.Fatalf("CPUDemand %v, want usage + waiting = 1500", d)
	}
	write(filepath.Join(dir, "tasks"), "13\n")
	stat(13, 1)
	if u, _ := r.ReadCgroup("k", "svc", "", t0.Add(3*time.Second)); u.HaveWaiting {
		t.Fatalf("no task in common, yet waiting %v", u.Waiting)
	}
}

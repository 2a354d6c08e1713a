package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

// run runs loadgen with args (bounded by their --duration or the trace) and
// returns its lines.
func run(t *testing.T, args ...string) []Line {
	t.Helper()
	o, err := Parse(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	var lines []Line
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, l.T); err != nil {
			t.Errorf("t %q is not RFC3339: %v", l.T, err)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		t.Fatal("no lines")
	}
	return lines
}

// The figures are a loose sanity check only: the machine may be busy, and
// precise figures are kerneltest's (under a cgroup quota).
func TestRunCPU(t *testing.T) {
	lines := run(t, "--cpu", "0.5", "--step", "500ms", "--duration", "1s")
	var got, secs float64
	for _, l := range lines {
		a, ok := l.Asked.Get(bidding.CPU)
		if !ok || a != 0.5 || l.Asked.Memory != nil || l.Got.Net != nil {
			t.Errorf("line %+v: want asked cpu 0.5 and nothing else", l)
		}
		g, _ := l.Got.Get(bidding.CPU)
		got += g * l.Secs
		secs += l.Secs
	}
	rate := got / secs
	t.Logf("asked 0.5 cores, got %.3f over %.2f s (%d lines)", rate, secs, len(lines))
	if rate <= 0 || rate > 0.5*1.5 {
		t.Errorf("got %.3f cores for 0.5 asked", rate)
	}
}

func TestRunMemoryFollowsTrace(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mem.csv")
	os.WriteFile(f, []byte("t,held\n0,48\n1,32\n2,40.5\n"), 0o644)
	lines := run(t, "--trace", f, "--column", "held", "--as", "memory", "--scale", "1048576", "--step", "200ms")
	// Without --loop the trace's 3 rows are 3 steps at most; a step the
	// clock left behind (a busy machine) is skipped by design, so each line
	// is checked against the row its step number says, in order.
	if len(lines) > 3 {
		t.Fatalf("%d lines for a 3-row trace without --loop", len(lines))
	}
	// the process's footprint follows what it is asked (the held mappings
	// make up what the rest of the process does not use), within a little
	// drift of the runtime's own memory during the step
	rows := []float64{48 << 20, 32 << 20, 40.5 * (1 << 20)}
	for i, l := range lines {
		if l.Step < 0 || l.Step >= len(rows) || (i > 0 && l.Step <= lines[i-1].Step) {
			t.Fatalf("line %d is step %d: want steps 0-2 in increasing order", i, l.Step)
		}
		want := rows[l.Step]
		a, _ := l.Asked.Get(bidding.Memory)
		g, _ := l.Got.Get(bidding.Memory)
		if a != want || g < want-(4<<20) || g > want+(4<<20) {
			t.Errorf("step %d: asked %v got %v, want asked %v and got within 4 MiB of it", l.Step, a, g, want)
		}
	}
}

func TestRunTraceLoops(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cpu.csv")
	os.WriteFile(f, []byte("cpu\n0.1\n0.2\n"), 0o644)
	lines := run(t, "--trace", f, "--column", "0", "--loop", "--step", "40ms", "--duration", "200ms")
	if len(lines) < 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines { // a skipped step (busy machine) shifts the lines, not the rows
		want := []float64{0.1, 0.2}[l.Step%2]
		if a, _ := l.Asked.Get(bidding.CPU); a != want {
			t.Errorf("step %d asked %v, want %v", l.Step, a, want)
		}
	}
}

func TestRunIO(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "io")
	o, _ := Parse([]string{"--io", "4MiB/s", "--io-file", file, "--step", "250ms", "--duration", "1s"})
	var out bytes.Buffer
	err := Run(context.Background(), o, &out)
	if err != nil && strings.Contains(err.Error(), "direct I/O") {
		t.Skipf("skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var total, secs float64
	for _, s := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l Line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Errors) > 0 {
			t.Errorf("errors: %v", l.Errors)
		}
		g, _ := l.Got.Get(bidding.IO)
		total += g * l.Secs
		secs += l.Secs
	}
	st, err := os.Stat(file)
	if err != nil || st.Size() == 0 || st.Size() > ioWrap {
		t.Errorf("the file: %v %v", st, err)
	}
	t.Logf("asked 4 MiB/s, wrote %.0f bytes in %.2f s", total, secs)
	if total <= 0 || total/secs > 1.5*4<<20 {
		t.Errorf("wrote %.0f B/s for 4 MiB/s asked", total/secs)
	}
}

func TestRunNetToSink(t *testing.T) {
	s, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.run(ctx)
	t.Cleanup(func() { cancel(); s.close() })
	lines := run(t, "--net", "8Mbit", "--to", s.addr(), "--step", "250ms", "--duration", "1s")
	var sent, secs float64
	for _, l := range lines {
		g, _ := l.Got.Get(bidding.Net)
		sent += g * l.Secs / 8
		secs += l.Secs
	}
	time.Sleep(50 * time.Millisecond)
	recv := float64(s.recv.Load())
	t.Logf("asked 8 Mbit/s for %.2f s: sent %.0f bytes, the sink got %.0f", secs, sent, recv)
	// The sender may write a chunk after its last step was measured and
	// before it is stopped: the sink can count that chunk, no line does.
	if sent <= 0 || recv <= 0 || recv > sent+netMaxChunk || sent > 1.5*1e6*secs {
		t.Errorf("sent %.0f, received %.0f", sent, recv)
	}
}

func TestRunSinkReports(t *testing.T) {
	lines := run(t, "--listen", "127.0.0.1:0", "--step", "50ms", "--duration", "120ms")
	for _, l := range lines {
		if !strings.HasPrefix(l.Listen, "127.0.0.1:") || l.Got.Net == nil || *l.Got.Net != 0 || l.Asked.Net != nil {
			t.Errorf("sink line %+v", l)
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	o, _ := Parse([]string{"--cpu", "0.2", "--memory", "1MiB"})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, &out) }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("%d lines for a step cut short, want it reported once: %s", n, out.String())
	}
}

func TestRunSeveralColumns(t *testing.T) {
	f := filepath.Join(t.TempDir(), "two.csv")
	os.WriteFile(f, []byte("t,CPU,memory\n0,0.1,2\n1,0.2,4\n"), 0o644)
	lines := run(t, "--trace", f, "--column", "cpu,memory", "--scale", "0.5", "--step", "50ms") // scale applies to both
	if len(lines) != 2 {
		t.Fatalf("%d lines for a 2-row trace without --loop", len(lines))
	}
	for i, l := range lines {
		c, okc := l.Asked.Get(bidding.CPU)
		m, okm := l.Asked.Get(bidding.Memory)
		if !okc || !okm || c != []float64{0.05, 0.1}[i] || m != []float64{1, 2}[i] || l.Asked.IO != nil {
			t.Errorf("step %d asked %+v", i, l.Asked)
		}
	}
}

// --start in the past: the run joins at the step the clock says, replays
// that row, and --duration counts from --start.
func TestRunStartInThePast(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cpu.csv")
	os.WriteFile(f, []byte("cpu\n0\n0.01\n0.02\n0.03\n0.04\n0.05\n0.06\n0.07\n0.08\n0.09\n"), 0o644)
	start := time.Now().Add(-300 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	lines := run(t, "--trace", f, "--column", "cpu", "--start", start, "--step", "100ms", "--duration", "1s")
	for i, l := range lines {
		a, _ := l.Asked.Get(bidding.CPU)
		if l.Step < 2 || l.Step > 9 || a != float64(l.Step)/100 || (i > 0 && l.Step <= lines[i-1].Step) {
			t.Errorf("line %d: step %d asked %v, want steps 2..9 rising, each asking its own row", i, l.Step, a)
		}
	}
}

// --start in the future: nothing until then, then step 0.
func TestRunStartInTheFuture(t *testing.T) {
	start := time.Now().Add(500 * time.Millisecond).Truncate(time.Millisecond)
	lines := run(t, "--cpu", "0.1", "--start", start.UTC().Format(time.RFC3339Nano), "--step", "50ms", "--duration", "100ms")
	end, _ := time.Parse(time.RFC3339Nano, lines[0].T)
	if lines[0].Step != 0 || !end.After(start) || len(lines) > 2 {
		t.Errorf("lines %+v: want steps 0 and 1 only, ending after %v", lines, start)
	}
}

// A trace, or a --duration, that the clock has already left behind: exit
// at once, without a line.
func TestRunStartAfterTheEnd(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cpu.csv")
	os.WriteFile(f, []byte("cpu\n0.1\n0.2\n"), 0o644)
	past := strconv.FormatInt(time.Now().Add(-10*time.Second).Unix(), 10)
	for _, args := range [][]string{
		{"--trace", f, "--column", "cpu", "--start", past, "--step", "1s"},
		{"--cpu", "0.1", "--start", past, "--duration", "5s"},
	} {
		o, err := Parse(args)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		t0 := time.Now()
		if err := Run(context.Background(), o, &out); err != nil || out.Len() != 0 {
			t.Errorf("%q: %v, output %q; want none", args, err, out.String())
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("%q: took %v to find nothing to do", args, d)
		}
	}
}

package loadgen

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/bidding"
)

func TestParse(t *testing.T) {
	type want struct {
		cpu, mem, io, net float64
		as                bidding.Resource
		step, dur         time.Duration
		use               [bidding.NumResources]bool
	}
	ok := []struct {
		args []string
		w    want
	}{
		{[]string{"--cpu", "1.5"}, want{cpu: 1.5, step: time.Second, use: [4]bool{true, false, false, false}}},
		{[]string{"--cpu=250m", "--step", "3s", "--duration", "10s"}, want{cpu: 0.25, step: 3 * time.Second, dur: 10 * time.Second, use: [4]bool{true, false, false, false}}},
		{[]string{"--memory", "256MiB"}, want{mem: 256 << 20, step: time.Second, use: [4]bool{false, true, false, false}}},
		{[]string{"--io", "50MiB/s", "--io-file", "/dev/loop9"}, want{io: 50 << 20, step: time.Second, use: [4]bool{false, false, true, false}}},
		{[]string{"--net", "200Mbit", "--to", "127.0.0.1:5201"}, want{net: 200e6, step: time.Second, use: [4]bool{false, false, false, true}}},
		{[]string{"--cpu", "0", "--memory", "1MiB"}, want{mem: 1 << 20, step: time.Second, use: [4]bool{true, true, false, false}}},
		{[]string{"--memory", "1MiB", "--memory-of", "cgroup"}, want{mem: 1 << 20, step: time.Second, use: [4]bool{false, true, false, false}}},
		{[]string{"--trace", "t.csv", "--column", "memory"}, want{as: bidding.Memory, step: time.Second, use: [4]bool{false, true, false, false}}},
		{[]string{"--trace", "t.csv", "--column", "2", "--as", "io", "--cpu", "1"}, want{cpu: 1, as: bidding.IO, step: time.Second, use: [4]bool{true, false, true, false}}},
		{[]string{"--trace", "t.csv", "--column", "load", "--scale", "0.01", "--loop"}, want{as: bidding.CPU, step: time.Second, use: [4]bool{true, false, false, false}}},
		{[]string{"--trace", "t.csv", "--column", "x", "--as", "net", "--to", "h:1"}, want{as: bidding.Net, step: time.Second, use: [4]bool{false, false, false, true}}},
		{[]string{"--listen", "127.0.0.1:0"}, want{step: time.Second}},
	}
	for _, c := range ok {
		o, err := Parse(c.args)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		got := want{o.CPU, o.Memory, o.IO, o.Net, o.As, o.Step, o.Duration, o.Uses()}
		if got != c.w {
			t.Errorf("%q: got %+v, want %+v", c.args, got, c.w)
		}
	}
	bad := []struct {
		args []string
		flag string // the message must name it
	}{
		{[]string{"--cpu", "x"}, "cpu"},
		{[]string{"--cpu", "-1"}, "cpu"},
		{[]string{"--memory", "lots"}, "memory"},
		{[]string{"--memory", "1MiB", "--memory-of", "heap"}, "--memory-of"},
		{[]string{"--io", "5 parsecs"}, "io"},
		{[]string{"--net", "1Gbit"}, "--to"},
		{[]string{"--net", "1Gbit", "--to", "nohost"}, "--to"},
		{[]string{"--cpu", "1", "--to", "h:1"}, "--to"},
		{[]string{"--cpu", "1", "--io-file", "f"}, "--io-file"},
		{[]string{"--cpu", "1", "--step", "0s"}, "--step"},
		{[]string{"--cpu", "1", "--duration", "-1s"}, "--duration"},
		{[]string{"--cpu", "1", "--duration", "soon"}, "duration"},
		{[]string{"--cpu", "1", "--column", "a"}, "--column"},
		{[]string{"--trace", "t.csv"}, "--column"},
		{[]string{"--trace", "t.csv", "--column", "a", "--as", "disk"}, "--as"},
		{[]string{"--trace", "t.csv", "--column", "cpu", "--cpu", "1"}, "--cpu"},
		{[]string{"--trace", "t.csv", "--column", "a", "--scale", "-2"}, "--scale"},
		{[]string{"--listen", "127.0.0.1:0", "--cpu", "1"}, "--cpu"},
		{[]string{"--listen", "nowhere"}, "--listen"},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"--cpu", "1", "extra"}, "extra"},
		{nil, "--cpu"},
	}
	for _, c := range bad {
		_, err := Parse(c.args)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: want a usage error, got %v", c.args, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.flag) || strings.Contains(msg, "\n") {
			t.Errorf("%q: %q should be one line naming %q", c.args, msg, c.flag)
		}
	}
}

func TestParseColumnsAndStart(t *testing.T) {
	ok := []struct {
		args   []string
		cols   []string
		drives []bidding.Resource
		use    [bidding.NumResources]bool
		start  time.Time
	}{
		{[]string{"--trace", "t.csv", "--column", "cpu,memory"}, []string{"cpu", "memory"},
			[]bidding.Resource{bidding.CPU, bidding.Memory}, [4]bool{true, true, false, false}, time.Time{}},
		{[]string{"--trace", "t.csv", "--column", "Net, IO", "--to", "h:1", "--scale", "2", "--loop"}, []string{"Net", "IO"},
			[]bidding.Resource{bidding.Net, bidding.IO}, [4]bool{false, false, true, true}, time.Time{}},
		{[]string{"--trace", "t.csv", "--column", "memory,io", "--cpu", "1", "--io-file", "/dev/loop9"}, []string{"memory", "io"},
			[]bidding.Resource{bidding.Memory, bidding.IO}, [4]bool{true, true, true, false}, time.Time{}},
		{[]string{"--trace", "t.csv", "--column", "load"}, []string{"load"}, // one column: as before
			[]bidding.Resource{bidding.CPU}, [4]bool{true, false, false, false}, time.Time{}},
		{[]string{"--cpu", "1", "--start", "2026-12-06T19:00:00.5Z"}, nil, nil, [4]bool{true, false, false, false},
			time.Date(2026, 12, 6, 19, 0, 0, 5e8, time.UTC)},
		{[]string{"--cpu", "1", "--start", "2026-12-06T20:00:00+01:00"}, nil, nil, [4]bool{true, false, false, false},
			time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC)},
		{[]string{"--cpu", "1", "--start", "1765047600.5"}, nil, nil, [4]bool{true, false, false, false},
			time.Unix(1765047600, 5e8)},
		{[]string{"--cpu", "1", "--start", "1765047600"}, nil, nil, [4]bool{true, false, false, false},
			time.Unix(1765047600, 0)},
		{[]string{"--cpu", "1", "--start", "1765047600.123456789123"}, nil, nil, [4]bool{true, false, false, false},
			time.Unix(1765047600, 123456789)},
	}
	for _, c := range ok {
		o, err := Parse(c.args)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !slices.Equal(o.cols, c.cols) || !slices.Equal(o.drives, c.drives) || o.Uses() != c.use || !o.Start.Equal(c.start) {
			t.Errorf("%q: cols %q drives %v use %v start %v; want %q %v %v %v", c.args, o.cols, o.drives, o.Uses(), o.Start, c.cols, c.drives, c.use, c.start)
		}
	}
	bad := []struct {
		args []string
		flag string
	}{
		{[]string{"--trace", "t.csv", "--column", "cpu,memory", "--as", "io"}, "--as"},
		{[]string{"--trace", "t.csv", "--column", "cpu,load"}, "--column"},
		{[]string{"--trace", "t.csv", "--column", "cpu,"}, "--column"},
		{[]string{"--trace", "t.csv", "--column", "cpu,memory,CPU"}, "twice"},
		{[]string{"--trace", "t.csv", "--column", "cpu,memory", "--memory", "1MiB"}, "--memory"},
		{[]string{"--trace", "t.csv", "--column", "cpu,net"}, "--to"},
		{[]string{"--trace", "t.csv", "--column", "cpu,memory", "--io-file", "f"}, "--io-file"},
		{[]string{"--cpu", "1", "--start", "soon"}, "start"},
		{[]string{"--cpu", "1", "--start", "-5"}, "start"},
		{[]string{"--cpu", "1", "--start", "1.2.3"}, "start"},
		{[]string{"--cpu", "1", "--start", "2026-12-06 19:00:00"}, "start"},
	}
	for _, c := range bad {
		_, err := Parse(c.args)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: want a usage error, got %v", c.args, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.flag) || strings.Contains(msg, "\n") {
			t.Errorf("%q: %q should be one line naming %q", c.args, msg, c.flag)
		}
	}
}

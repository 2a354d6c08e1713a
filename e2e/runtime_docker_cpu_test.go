//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/bidding"
	"github.com/allot-dev/allot/config"
)

// How TestDockerRuntime measures a container's cpu from its own cgroup and the
// host's from /proc/stat.

// containerCPU reads one container's cpu counters from its own cgroup,
// found from its pid's /proc/<pid>/cgroup (v1: cpuacct.usage and the cpu
// controller's cpu.stat; v2: cpu.stat).
type containerCPU struct {
	name    string
	usage   string // v1 cpuacct.usage (ns) or v2 cpu.stat (usage_usec)
	stat    string // cpu.stat with nr_periods / nr_throttled
	v2      bool
	periods int64
}

func openContainerCPU(t *testing.T, name string) *containerCPU {
	t.Helper()
	out, err := docker("inspect", "-f", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + out + "/cgroup")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cc := &containerCPU{name: name}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			switch ctl {
			case "cpuacct":
				cc.usage = firstExisting(filepath.Join(parts[2], "cpuacct.usage"), parts[1], "cpuacct", "cpu,cpuacct", "cpuacct,cpu")
			case "cpu":
				cc.stat = firstExisting(filepath.Join(parts[2], "cpu.stat"), parts[1], "cpu", "cpu,cpuacct", "cpuacct,cpu")
			}
		}
		if parts[0] == "0" && parts[1] == "" && cc.usage == "" { // v2 only: cpu.stat has usage_usec too
			cc.v2 = true
			cc.usage = filepath.Join("/sys/fs/cgroup", parts[2], "cpu.stat")
			cc.stat = cc.usage
		}
	}
	if cc.usage == "" || cc.stat == "" {
		t.Fatalf("%s: no cpu accounting cgroup found in /proc/%s/cgroup:\n%s", name, out, b)
	}
	return cc
}

// firstExisting is rel under the first /sys/fs/cgroup mount that has it.
func firstExisting(rel string, mounts ...string) string {
	for _, m := range mounts {
		p := filepath.Join("/sys/fs/cgroup", m, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

type cpuSample struct {
	usedNS             int64
	periods, throttled int64
}

func (cc *containerCPU) read() (cpuSample, error) {
	var s cpuSample
	st, err := readKV(cc.stat)
	if err != nil {
		return s, err
	}
	s.periods, s.throttled = st["nr_periods"], st["nr_throttled"]
	if cc.v2 {
		s.usedNS = st["usage_usec"] * 1000
		return s, nil
	}
	b, err := os.ReadFile(cc.usage)
	if err != nil {
		return s, err
	}
	s.usedNS, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return s, err
}

func readKV(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			m[f[0]] = v
		}
	}
	return m, nil
}

// hostCPU reads /proc/stat's cpu line: busy and steal time (ns) and the cpu count.
func hostCPU() (busy, steal int64, cores int, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	tick := int64(time.Second / 100) // USER_HZ
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			cores++
			continue
		}
		var v [8]int64
		for i := range v {
			v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
		}
		// user nice system idle iowait irq softirq steal
		busy = (v[0] + v[1] + v[2] + v[5] + v[6]) * tick
		steal = v[7] * tick
	}
	return busy, steal, cores, nil
}

func sumUsed(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

type cpuWindow struct {
	from, to           uint64 // plan epochs in force over the window
	length             time.Duration
	alloc              map[string]int64
	used               map[string]float64 // millicores
	periods, throttled map[string]int64
	hostBusy, steal    float64 // millicores
	hostCores          int
}

// measureWindow measures each container's cpu over d; an error when the
// cpu allocations of their services changed in any plan in force meanwhile.
func measureWindow(c *api.Client, cg map[string]*containerCPU, svcOf map[string]string, d time.Duration) (cpuWindow, error) {
	w := cpuWindow{alloc: map[string]int64{}, used: map[string]float64{}, periods: map[string]int64{}, throttled: map[string]int64{}}
	p0, err := planInForce(c)
	if err != nil {
		return w, err
	}
	for n, s := range svcOf {
		w.alloc[n] = cpuOf(p0, s)
	}
	start := map[string]cpuSample{}
	for n, cc := range cg {
		if start[n], err = cc.read(); err != nil {
			return w, err
		}
	}
	busy0, steal0, _, err := hostCPU()
	if err != nil {
		return w, err
	}
	t0 := time.Now()
	time.Sleep(d)
	busy1, steal1, cores, err := hostCPU()
	if err != nil {
		return w, err
	}
	w.length = time.Since(t0)
	for n, cc := range cg {
		end, err := cc.read()
		if err != nil {
			return w, err
		}
		w.used[n] = float64(end.usedNS-start[n].usedNS) / w.length.Seconds() / 1e6
		w.periods[n], w.throttled[n] = end.periods-start[n].periods, end.throttled-start[n].throttled
	}
	w.length = w.length.Round(time.Millisecond)
	w.hostBusy = float64(busy1-busy0) / float64(w.length.Nanoseconds()) * 1000
	w.steal = float64(steal1-steal0) / float64(w.length.Nanoseconds()) * 1000
	w.hostCores = cores
	// The window measures the limits only when the node had the CPU the
	// plan assumes: if other processes took more than the plan leaves
	// unallocated, the containers were short of CPU, not limited (retry).
	var allocated int64
	for _, a := range w.alloc {
		allocated += a
	}
	outside := w.hostBusy - sumUsed(w.used)
	if free := float64(int64(cores)*1000 - allocated); outside > free {
		return w, fmt.Errorf("other processes used %.0fm of the machine, more than the %.0fm the plan leaves unallocated", outside, free)
	}
	p1, err := planInForce(c)
	if err != nil {
		return w, err
	}
	w.from, w.to = p0.Epoch, p1.Epoch
	for e := p0.Epoch + 1; e <= p1.Epoch; e++ {
		p, err := planAt(c, e)
		if err != nil {
			return w, err
		}
		for n, s := range svcOf {
			if a := cpuOf(p, s); a != w.alloc[n] {
				return w, fmt.Errorf("%s's allocation changed from %dm to %dm at plan epoch %d", s, w.alloc[n], a, e)
			}
		}
	}
	return w, nil
}

func cpuActuals(v api.ForecastView) int {
	n := 0
	for _, node := range v.Nodes {
		for _, p := range node.Resources[bidding.CPU.String()].Points {
			if p.Actual > 0 {
				n++
			}
		}
	}
	return n
}

func lastCPUPoint(v api.ForecastView) string {
	for _, node := range v.Nodes {
		pts := node.Resources[bidding.CPU.String()].Points
		if len(pts) == 0 {
			continue
		}
		p := pts[len(pts)-1]
		s := fmt.Sprintf("node %s epoch %d actual %dm", node.Node, p.Epoch, p.Actual)
		if p.P50 != nil {
			s += fmt.Sprintf(" p50 %dm p90 %dm p99 %dm", *p.P50, *p.P90, *p.P99)
		}
		return s
	}
	return "none"
}

// forecastCPURow finds the cpu row of `allot forecast` whose ACTUAL column
// is a cpu quantity.
func forecastCPURow(out string) (string, bool) {
	var cols []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "NODE" {
			cols = f
			continue
		}
		if cols == nil || len(f) != len(cols) {
			continue
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = f[i]
		}
		if row["RESOURCE"] != bidding.CPU.String() {
			continue
		}
		if v, err := config.ParseQuantity(bidding.CPU, row["ACTUAL"]); err == nil && v > 0 {
			return line, true
		}
	}
	return "", false
}

// runCLI runs the allot CLI against addr (bounded).
func runCLI(addr string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, allotBin, append([]string{"--http-addr", addr}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return strings.TrimSpace(string(out)), err
}

func bidsOf(t *testing.T, c *api.Client, service string) []bidding.Bid {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var bids []bidding.Bid
	if _, err := c.Do(ctx, "GET", "/v1/bids?service="+service, nil, &bids); err != nil {
		t.Fatalf("GET /v1/bids?service=%s: %v", service, err)
	}
	return bids
}

func bidEpochs(bids []bidding.Bid) []uint64 {
	var es []uint64
	for _, b := range bids {
		es = append(es, b.Epoch)
	}
	return es
}

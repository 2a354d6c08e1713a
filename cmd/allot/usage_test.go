package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot/internal/testcluster"
)

// TestUsageImport runs `allot usage import` against an in-process server:
// a CSV and a Prometheus answer are imported whole; bad input exits 1
// naming the line or index, and never moves the Raft index.
func TestUsageImport(t *testing.T) {
	c := testcluster.Start(t, 1, time.Hour)
	n := c.Leader(10 * time.Second)
	addr := n.HTTP.Listener.Addr().String()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	svcFile := write("web.hcl", "service \"web\" {\n  class = \"standard\"\n}\n")
	if code, out, errs := runCLI(addr, nil, "service", "register", svcFile); code != 0 {
		t.Fatalf("register: %d %s %s", code, out, errs)
	}
	var csv strings.Builder
	csv.WriteString("time,cpu,memory\n")
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 288; i++ {
		fmt.Fprintf(&csv, "%s,%dm,%dMiB\n", t0.Add(time.Duration(i)*5*time.Minute).Format(time.RFC3339), 800+i%10, 512)
	}
	good := write("web.csv", csv.String())
	code, out, errs := runCLI(addr, nil, "usage", "import", "--service", "web", "--node", "node-1", good)
	want := "imported 576 points (cpu, memory) for web on node-1, interval 5m0s, from 2026-11-30T00:00:00Z to 2026-11-30T23:55:00Z\n"
	if code != 0 || out != want {
		t.Fatalf("import: exit %d\n got %q\nwant %q\n%s", code, out, want, errs)
	}
	h, ok := n.Server.FSM().History("web", "node-1")
	if !ok || len(h.Points["cpu"]) != 288 || h.Points["cpu"][3].V != 803 || h.Points["memory"][0].V != 512<<20 {
		t.Fatalf("stored %+v", h)
	}

	prom := write("q.json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"web-0"},"values":[[1796119200,"0.42"],[1796119215,"0.44"],[1796119230,"0.43"]]}]}}`)
	code, out, errs = runCLI(addr, nil, "usage", "import", prom, "--service", "web", "--node", "node-2", "--resource", "cpu", "--scale", "1000", "--json")
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got["points"] != float64(3) || got["interval"] != "15s" || got["index"] == nil {
		t.Fatalf("prometheus --json: exit %d %s %s", code, out, errs)
	}
	if h, _ := n.Server.FSM().History("web", "node-2"); len(h.Points["cpu"]) != 3 || h.Points["cpu"][0].V != 420 {
		t.Fatalf("stored %+v", h)
	}

	bad := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad value", []string{"--service", "web", "--node", "node-1", write("bad.csv", "time,cpu\n1796119200,1\n1796119500,-4\n")}, 1, `line 3, column cpu: "-4" is negative`},
		{"unknown column", []string{"--service", "web", "--node", "node-1", write("col.csv", "time,cpu,gpu\n1796119200,1,2\n")}, 1, `unknown column(s) "gpu"`},
		{"two series", []string{"--service", "web", "--node", "node-1", "--resource", "cpu", write("two.json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[]},{"metric":{},"values":[]}]}}`)}, 1, "2 series"},
		{"empty", []string{"--service", "web", "--node", "node-1", write("empty.csv", "")}, 1, "empty file"},
		{"unregistered", []string{"--service", "ghost", "--node", "node-1", good}, 1, `"ghost" is not registered`},
		{"no service", []string{"--node", "node-1", good}, 2, "--service and --node are required"},
		{"no file", []string{"--service", "web", "--node", "node-1"}, 2, "expected one FILE"},
		{"missing file", []string{"--service", "web", "--node", "node-1", filepath.Join(dir, "nope.csv")}, 1, "no such file"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Server.FSM().Index()
			code, out, errs := runCLI(addr, nil, append([]string{"usage", "import"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, tc.code, out, errs, tc.want)
			}
			if after := n.Server.FSM().Index(); after != before {
				t.Fatalf("a refused import moved the Raft index from %d to %d", before, after)
			}
		})
	}
	// Help goes to stdout and sends nothing.
	if code, out, errs := runCLI(addr, nil, "usage", "import", "--help"); code != 0 || !strings.Contains(out, "Prometheus") || errs != "" {
		t.Fatalf("--help: %d %s %s", code, out, errs)
	}
}

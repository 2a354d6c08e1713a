package doctest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/config"
)

// The config files of the real-node guide (docs/NODE.md, each hcl block
// marked `<!-- config file: NAME -->`) and of deploy/ load as an agent
// would load them; the unit file the guide installs runs that config.
func TestNodeGuideConfigs(t *testing.T) {
	guide, err := os.ReadFile("../docs/NODE.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The key file the configs name, at a path of the test's.
	key := filepath.Join(dir, "gossip.key")
	if err := os.WriteFile(key, []byte("MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, b := range Blocks(string(guide)) {
		name, ok := strings.CutPrefix(b.Note, "config file:")
		if b.Lang != "hcl" || !ok {
			continue
		}
		files["docs/NODE.md:"+strings.TrimSpace(name)] = strings.ReplaceAll(b.Text, "/etc/allot/gossip.key", key)
	}
	if len(files) < 3 {
		t.Fatalf("docs/NODE.md shows %d config files, want the server's, the client's and the systemd client's", len(files))
	}
	for _, f := range []string{"allot-node.hcl", "allot-server.hcl", "allot-client.hcl"} {
		b, err := os.ReadFile(filepath.Join("../deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		files["deploy/"+f] = string(b)
	}
	for name, text := range files {
		p := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_", " ", "_").Replace(name)+".hcl")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"--config", p}
		if strings.HasPrefix(name, "deploy/allot-server") || strings.HasPrefix(name, "deploy/allot-client") {
			// compose gives these their node name, data dir and address as flags
			args = append(args, "--node", "n1", "--data-dir", dir, "--advertise", "10.0.0.1")
		}
		var errb bytes.Buffer
		cfg, err := config.Load(args, func(string) string { return "" }, &errb)
		if err != nil {
			t.Errorf("%s: config.Load: %v %s", name, err, errb.String())
			continue
		}
		if !cfg.Server && !cfg.Client {
			t.Errorf("%s: neither server nor client", name)
		}
	}
	unit, err := os.ReadFile("../deploy/allot.service")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("ExecStart=/usr/local/bin/allot agent --config /etc/allot/allot.hcl")) ||
		!strings.Contains(string(guide), "/etc/allot/allot.hcl") || !strings.Contains(string(guide), "deploy/allot.service") {
		t.Error("the guide and deploy/allot.service disagree on where the config lives")
	}
}

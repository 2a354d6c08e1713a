package enforce

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/allot-dev/allot/internal/fakefs"

	"github.com/hashicorp/go-hclog"
)

func files(t *testing.T, root string, m map[string]string) { fakefs.Files(t, root, m) }

func mountinfoFile(t *testing.T, root string, lines ...string) string {
	return fakefs.Mountinfo(t, root, lines...)
}

// tree is every file (rel path -> content) and directory (rel path + "/"
// -> "") under root: a fake cgroupfs's whole state.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTree compares want (files that must hold exactly these values) and
// absent (paths that must not exist) with the state under root.
func checkTree(t *testing.T, root string, want map[string]string, absent []string) {
	t.Helper()
	got := tree(t, root)
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s was not written (want %q)", k, v)
		} else if g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	for _, k := range absent {
		if _, ok := got[k]; ok {
			t.Errorf("%s exists, want it absent", k)
		}
	}
}

// logBuf is an hclog logger whose output a test can read.
func logBuf() (hclog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return hclog.New(&hclog.LoggerOptions{Output: &b, Level: hclog.Debug}), &b
}

// failing is a Resolver that knows some services and failed to ask about the rest.
type failing Targets

func (f failing) Resolve(ctx context.Context, names []string) (map[string]Target, error) {
	m, _ := Targets(f).Resolve(ctx, names)
	return m, errors.New("servers unreachable")
}

func errHas(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

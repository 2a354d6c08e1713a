package term

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, c := range map[string]struct {
		w    any
		want bool
	}{"buffer": {&bytes.Buffer{}, false}, "regular file": {f, false}} {
		if got := IsTerminal(c.w.(interface{ Write([]byte) (int, error) })); got != c.want {
			t.Errorf("%s: IsTerminal = %v, want %v", name, got, c.want)
		}
	}
}

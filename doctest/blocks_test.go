package doctest

import (
	"os"
	"testing"
)

func TestBlocks(t *testing.T) {
	md := "# T\n\n```sh\necho one\n```\n\n<!-- doctest: skip: needs Docker -->\n```bash\ndocker ps\n```\n\n```hcl\nx = 1\n```\n\n<!-- doctest: skip -->\n\n```sh\nrm -rf /\n```\n"
	got := ShellBlocks(md)
	want := []Block{
		{Line: 3, Lang: "sh", Text: "echo one\n"},
		{Line: 8, Lang: "bash", Text: "docker ps\n", Note: "doctest: skip: needs Docker"},
		{Line: 18, Lang: "sh", Text: "rm -rf /\n", Note: "doctest: skip"},
	}
	skips := []string{"", "needs Docker", "?"}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] || got[i].Skip() != skips[i] {
			t.Errorf("block %d: %+v (skip %q), want %+v (skip %q)", i, got[i], got[i].Skip(), want[i], skips[i])
		}
	}
}

// Every skipped block of the README says why, and most blocks run.
func TestREADMESkipsHaveReasons(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	run := 0
	for _, blk := range ShellBlocks(string(b)) {
		if blk.Skip() == "?" {
			t.Errorf("README.md:%d: a doctest skip without a reason", blk.Line)
		}
		if blk.Skip() == "" {
			run++
		}
	}
	if run < 3 {
		t.Errorf("only %d README shell blocks run", run)
	}
}

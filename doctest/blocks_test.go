package doctest

import (
	"os"
	"testing"
)

func TestBlocks(t *testing.T) {
	md := "# T\n\n```sh\necho one\n```\n\n<!-- doctest: skip: needs Docker -->\n```bash\ndocker ps\n```\n\n```hcl\nx = 1\n```\n\n<!-- doctest: skip -->\n\n```sh\nrm -rf /\n```\n"
	got := Blocks(md)
	want := []Block{
		{Line: 3, Text: "echo one\n"},
		{Line: 8, Text: "docker ps\n", Skip: "needs Docker"},
		{Line: 18, Text: "rm -rf /\n", Skip: "?"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d: %+v, want %+v", i, got[i], want[i])
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
	for _, blk := range Blocks(string(b)) {
		if blk.Skip == "?" {
			t.Errorf("README.md:%d: a doctest skip without a reason", blk.Line)
		}
		if blk.Skip == "" {
			run++
		}
	}
	if run < 3 {
		t.Errorf("only %d README shell blocks run", run)
	}
}

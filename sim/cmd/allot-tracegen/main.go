// Command allot-tracegen writes synthetic trace families (one folder per
// kind) for `allot sim --trace` and `allot forecast eval --dataset csv`.
//
//	allot-tracegen --out DIR [--kind idle,intermittent,...] [--files 8] [--days 14] [--seed 1]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/allot-dev/allot/sim/tracegen"
)

func main() {
	fs := flag.NewFlagSet("allot-tracegen", flag.ContinueOnError)
	out := fs.String("out", "", "directory; one sub-folder per kind is written below it")
	kindList := fs.String("kind", strings.Join(tracegen.Kinds(), ","), "kinds, comma-separated")
	files := fs.Int("files", 8, "VMs (files) per kind")
	days := fs.Float64("days", 14, "days of 5-minute samples")
	seed := fs.Uint64("seed", 1, "seed")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *out == "" || *files < 1 || *days <= 0 {
		fmt.Fprintln(os.Stderr, "allot-tracegen: --out is required; --files and --days must be positive")
		os.Exit(2)
	}
	for _, k := range strings.Split(*kindList, ",") {
		k = strings.TrimSpace(k)
		if _, err := tracegen.Generate(filepath.Join(*out, k), tracegen.Options{Kind: k, Files: *files, Days: *days, Seed: *seed}); err != nil {
			fmt.Fprintf(os.Stderr, "allot-tracegen: %v\n", err)
			os.Exit(1)
		}
	}
}

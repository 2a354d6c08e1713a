// Command cmd runs the solver benchmark on its own (for development; the
// product wires bench.Main into `allot bench solver`).
package main

import (
	"os"

	"github.com/allot-dev/allot/bidding/bench"
)

func main() { os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr)) }

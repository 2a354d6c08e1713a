// Command forecast-eval runs `allot forecast eval` stand-alone (for
// benchmarking the forecast package without building the whole agent).
package main

import (
	"os"

	"github.com/allot-dev/allot/forecast/eval"
)

func main() { os.Exit(eval.Main(os.Args[1:], os.Stdout, os.Stderr)) }

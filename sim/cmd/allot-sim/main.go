package main

import (
	"os"

	"github.com/allot-dev/allot/sim"
)

func main() { os.Exit(sim.Main(os.Args[1:], os.Stdout, os.Stderr)) }

package agent

import "runtime"

func runtimeNumCPU() int { return runtime.NumCPU() }

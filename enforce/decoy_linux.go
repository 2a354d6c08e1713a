package enforce

import "syscall"

// decoyAttr: the decoy dies with the agent that started it.
func decoyAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

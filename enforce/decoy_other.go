//go:build !linux

package enforce

import "syscall"

func decoyAttr() *syscall.SysProcAttr { return nil }

//go:build !unix && !windows

package main

import (
	"os"
	"syscall"
)

// ownProcessGroup does nothing where there are no process groups.
func ownProcessGroup() *syscall.SysProcAttr {
	return nil
}

// killProcessGroup kills the worker process p.
func killProcessGroup(p *os.Process) {
	p.Kill()
}

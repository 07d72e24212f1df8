//go:build unix

package main

import (
	"os"
	"syscall"
)

// killGroup kills the worker process p and every process in its process
// group: the processes it started, unless they left the group.
func killGroup(p *os.Process) error {
	return syscall.Kill(-p.Pid, syscall.SIGKILL)
}

//go:build unix

package main

import (
	"os"
	"syscall"
)

// ownProcessGroup puts a worker process in a process group of its own, so
// that the Ctrl-C that a terminal sends to its foreground process group
// reaches the pool and not its workers.
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the worker process p and every process in its
// process group: the processes it started, unless they left the group.
func killProcessGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

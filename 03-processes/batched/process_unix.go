//go:build unix

package main

import (
	"os"
	"syscall"
)

// ownProcessGroup puts a worker process in a process group of its own, so
// that the Ctrl-C that a terminal sends to its foreground process group
// reaches the pool and not its workers. Where the system can, the worker
// also dies with the pool (see dieWithParent).
func ownProcessGroup() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(attr)
	return attr
}

// killProcessGroup kills the worker process p and every process in its
// process group: the processes it started, unless they left the group.
func killProcessGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

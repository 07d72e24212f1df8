//go:build unix

package main

import "syscall"

// ownProcessGroup puts a worker process in a process group of its own, so
// that the Ctrl-C that a terminal sends to its foreground process group
// reaches the pool and not its workers.
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

//go:build unix && !linux

package main

import "syscall"

// workerAttr puts a worker process in a process group of its own, so that
// the Ctrl-C that a terminal sends to its foreground process group reaches
// the pool and not its workers. macOS and the BSDs cannot have a process
// killed when its parent dies: a worker whose pool has died ends at its
// next write, killed by SIGPIPE, after the task in hand.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

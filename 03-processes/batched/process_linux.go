package main

import "syscall"

// workerAttr puts a worker process in a process group of its own, so that
// the Ctrl-C that a terminal sends to its foreground process group reaches
// the pool and not its workers. And Linux kills the worker when the pool
// dies, however it dies, even by SIGKILL: nothing else would stop a worker
// in the middle of a slow task. (Strictly, when the thread that started it
// ends; a Go program's threads end with it, unless a goroutine locked to
// one returns without unlocking, and this program locks none.)
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

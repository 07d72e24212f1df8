package main

import (
	"os"
	"syscall"
)

// workerAttr starts a worker process in a process group of its own:
// Windows sends Ctrl-C to every process of the console, except those in a
// new process group, which start with Ctrl-C turned off.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// killGroup kills the worker process p. A process group on Windows is
// only a group for Ctrl-C, and cannot be killed as one: a process that the
// worker started lives on, and waitDelay bounds our wait for the output it
// holds.
func killGroup(p *os.Process) error {
	return p.Kill()
}

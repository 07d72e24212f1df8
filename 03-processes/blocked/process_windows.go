package main

import "syscall"

// ownProcessGroup starts a worker process in a process group of its own:
// Windows sends Ctrl-C to every process of the console, except those in a
// new process group, which start with Ctrl-C turned off.
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

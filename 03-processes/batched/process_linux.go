package main

import "syscall"

// dieWithParent has Linux kill the worker process when the pool dies, however
// it dies: SIGKILL, a crash, SIGPIPE, a signal it does not catch. Nothing else
// would stop a worker that is computing a slow task, since it hears from the
// pool only between tasks.
//
// Strictly, Linux sends the signal when the thread that started the worker
// ends, not the process. A Go program's threads end with it: the runtime
// ends a thread early only when a goroutine locked to it by
// runtime.LockOSThread returns without unlocking, and this program locks
// none. And if the pool dies while the worker starts, before the kernel
// knows to signal it, Go's syscall package finds the worker's parent gone and kills
// it there.
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}

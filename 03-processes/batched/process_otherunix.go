//go:build unix && !linux

package main

import "syscall"

// dieWithParent does nothing: macOS and the BSDs have no way to have a
// process killed when its parent dies. A worker whose pool has died ends
// at its next write, killed by SIGPIPE, or at its next read, at the end of
// its input: after the task in hand.
func dieWithParent(attr *syscall.SysProcAttr) {}

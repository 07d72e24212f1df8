//go:build !unix && !windows

package main

import "syscall"

// ownProcessGroup does nothing where there are no process groups.
func ownProcessGroup() *syscall.SysProcAttr {
	return nil
}

//go:build !linux

package main

import (
	"os/exec"
	"testing"
)

// Elsewhere than on Linux, the tests cannot list the processes they have
// started (there is no /proc), nor have the system kill a process when the
// test binary dies. The tests that start processes with children of their
// own run on Linux only; the others' processes are the pool's workers,
// which the pool ends before it returns.

// dieWithTest does nothing: see leftovers_linux_test.go.
func dieWithTest(t testing.TB, cmd *exec.Cmd) {}

// noProcessLeft does nothing: see leftovers_linux_test.go.
func noProcessLeft(t *testing.T) {}

// killLeftovers finds nothing: see leftovers_linux_test.go.
func killLeftovers(mark string) []string { return nil }

package main

import (
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestCtrlBreak interrupts the program on Windows while both its workers
// compute, as a console does: with a console control event for the
// program's process group. The workers, each in a process group of its own,
// do not get it; the pool stops them, says it was interrupted, and exits
// with status 130.
func TestCtrlBreak(t *testing.T) {
	// The event travels through a console that the program shares with
	// us: a test run by go test may have none, so it makes one. (With a
	// console already, AllocConsole fails, and we use that one.)
	kernel32 := syscall.NewLazyDLL("kernel32.dll")
	kernel32.NewProc("AllocConsole").Call()
	dir := tellDir(t)
	cmd := exec.Command(self(t), "-workers", "2")
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
	var stderr lockedWriter
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the program exists, the cleanup kills it however
	// the test ends, and waits a second at most for the pipes of its
	// output after it has exited.
	cmd.WaitDelay = time.Second
	t.Cleanup(func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	fmt.Fprint(stdin, "45\n45\n")
	first := workerWith(t, dir, 45)
	workerWith(t, dir, 45, first)
	// Windows has CTRL_C_EVENT too, but it cannot be sent to one process
	// group; Go treats both events as os.Interrupt.
	generate := kernel32.NewProc("GenerateConsoleCtrlEvent")
	if ok, _, err := generate.Call(syscall.CTRL_BREAK_EVENT, uintptr(cmd.Process.Pid)); ok == 0 {
		t.Skipf("no console to send the event through: %v", err)
	}
	within(t, "the interrupted program", func() { cmd.Wait() })
	if got := cmd.ProcessState.ExitCode(); got != 130 {
		t.Errorf("exit status %d, want 130", got)
	}
	if got, want := stderr.String(), "processes: interrupted; the workers are stopped\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

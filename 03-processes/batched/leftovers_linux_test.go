package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every process that the tests start, and every process those start in
// turn, inherits ownerVar from this test binary (see TestMain). So a test
// can find what it leaves behind, even a process that has left its parent's
// process group and session, as a worker's child does with setsid, and
// kill it. Linux shows each process's environment in /proc/PID/environ.

// dieWithTest has Linux kill the process that cmd starts when this test
// binary dies, however it dies: go test's own -timeout ends the binary
// without running a single cleanup. Linux sends the signal when the thread
// that started the process ends, not the process; a Go program's threads
// end with it, unless a goroutine locked to one by runtime.LockOSThread
// returns without unlocking it, which no test here does (the pool's
// workers rely on the same, see process_linux.go). Only the process cmd
// starts is covered: a process that it starts in turn is not, which is
// what the cleanups of noProcessLeft are for.
//
// It also gives the process, and every process it starts, the mark of the
// test t (see markOf), so that tests that run side by side each find their
// own processes, and only those.
func dieWithTest(t testing.TB, cmd *exec.Cmd) {
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, ownerVar+"="+markOf(t)) // The last of a name is the one used.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// noProcessLeft has t, when it ends, passed or failed, kill every process
// that this test binary has started, directly or not, and that still runs,
// and wait until each is gone. Each test that starts processes calls it
// before it starts the first one, so that its cleanup runs after all the
// test's others (cleanups run last registered first), which end the
// processes the test knows of. Whatever it still finds, it names in the
// test's log.
func noProcessLeft(t *testing.T) {
	t.Cleanup(func() {
		if left := killLeftovers(markOf(t)); len(left) > 0 {
			t.Logf("killed processes that the test left running:\n%s", strings.Join(left, "\n"))
		}
	})
}

// killLeftovers kills every live process that carries this test binary's
// ownerVar, waits until each is gone (for 10 seconds at most: SIGKILL
// takes effect at once, but the end of a process takes a moment), and
// returns a line for each: its process id and command line, and whether it
// outlived the wait. A process that was dying already, killed by a pool or
// a test just before, is waited for but not named.
func killLeftovers(mark string) []string {
	var left []string
	pids := owned(mark)
	var lines []string // what each process runs, read while it still runs
	for _, pid := range pids {
		args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		line := fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(bytes.TrimRight(args, "\x00"), []byte{0}, []byte{' '}))
		if dying(pid) {
			line = "" // killed just before us
		}
		lines = append(lines, line)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		switch {
		case alive(pid):
			left = append(left, fmt.Sprintf("%d (still there after SIGKILL)", pid))
		case lines[i] != "":
			left = append(left, lines[i])
		}
	}
	return left
}

// dying reports whether the process pid is on its way out: it has a
// SIGKILL pending, or has begun to exit (PF_EXITING among the flags of
// /proc/PID/stat).
func dying(pid int) bool {
	const exiting = 0x4 // PF_EXITING
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 7 {
		return true // gone already
	}
	if flags, _ := strconv.ParseUint(fields[6], 10, 64); flags&exiting != 0 {
		return true
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.Lines(string(status)) {
		if name, mask, ok := strings.Cut(line, ":"); ok && (name == "SigPnd" || name == "ShdPnd") {
			if bits, _ := strconv.ParseUint(strings.TrimSpace(mask), 16, 64); bits&(1<<(syscall.SIGKILL-1)) != 0 {
				return true
			}
		}
	}
	return false
}

// markOf returns the mark of the processes that the test t starts: this
// test binary's ownerVar, and the test's name. A subtest's mark begins with
// its parent's.
func markOf(t testing.TB) string {
	return os.Getenv(ownerVar) + "/" + t.Name()
}

// owned returns the live processes, other than this one, that carry mark
// or a mark that begins with it and a slash (a subtest's), and those that
// carry this test binary's ownerVar alone: the processes that a test
// started through the pool in this process, whose workers inherit it.
func owned(mark string) []int {
	binary := os.Getenv(ownerVar)
	paths, _ := filepath.Glob("/proc/[0-9]*/environ")
	var pids []int
	for _, path := range paths {
		pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(path, "/proc/"), "/environ"))
		if pid == os.Getpid() || !alive(pid) {
			continue
		}
		env, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, v := range bytes.Split(env, []byte{0}) {
			value, ok := bytes.CutPrefix(v, []byte(ownerVar+"="))
			if ok && (string(value) == binary || string(value) == mark || bytes.HasPrefix(value, []byte(mark+"/"))) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

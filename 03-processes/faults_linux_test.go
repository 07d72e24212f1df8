package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests kill real worker processes and the pool itself, and check by
// process id that nothing is left behind. They read /proc, so they run on
// Linux only.

// proc is what /proc/PID/stat says of a process.
type proc struct {
	pid, ppid int
	state     byte // R running, S sleeping, Z zombie (exited, not yet waited for), ...
	cpuTicks  int  // user and system time, in clock ticks (10 ms)
}

// readProc reads /proc/PID/stat; ok is false when the process is gone.
func readProc(pid int) (p proc, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// The command name, in parentheses, may hold spaces: the fields we
	// want come after its closing parenthesis.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, _ := strconv.Atoi(fields[1])
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return proc{pid: pid, ppid: ppid, state: fields[0][0], cpuTicks: utime + stime}, true
}

// alive reports whether pid is a process that has not exited.
func alive(pid int) bool {
	p, ok := readProc(pid)
	return ok && p.state != 'Z'
}

// children returns the live processes whose parent is ppid.
func children(ppid int) []proc {
	entries, _ := os.ReadDir("/proc")
	var kids []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.ppid == ppid && p.state != 'Z' {
			kids = append(kids, p)
		}
	}
	return kids
}

// waitFor polls cond until it holds, and fails the test if it does not
// within 30 seconds (generous, for slow machines and -race).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// busyWorker waits until a child of ppid, other than those in skip, has used
// at least 50 ms of CPU: it has read its task and is computing it.
func busyWorker(t *testing.T, ppid int, skip ...int) int {
	t.Helper()
	var pid int
	waitFor(t, "a worker is computing", func() bool {
		for _, p := range children(ppid) {
			if !slices.Contains(skip, p.pid) && p.cpuTicks >= 5 {
				pid = p.pid
				return true
			}
		}
		return false
	})
	return pid
}

// startPool runs the pool in this process with input from a pipe that the
// test writes, and returns the pipe and a channel that delivers the outcome.
func startPool(t *testing.T, workers int) (io.WriteCloser, <-chan outcome) {
	inR, inW := io.Pipe()
	done := make(chan outcome, 1)
	go func() {
		var stdout strings.Builder
		var stderr lockedWriter
		ok := pool(context.Background(), self(t), workers, inR, &stdout, &stderr)
		status := 0
		if !ok {
			status = 1
		}
		done <- outcome{stdout.String(), stderr.String(), status}
	}()
	return inW, done
}

// TestKilledWorkerTaskIsRetried kills a worker process in the middle of a
// task: the pool reports it, starts a new worker, and the task is answered.
func TestKilledWorkerTaskIsRetried(t *testing.T) {
	input, done := startPool(t, 1)
	fmt.Fprintln(input, "37")
	victim := busyWorker(t, os.Getpid())
	syscall.Kill(victim, syscall.SIGKILL)
	fmt.Fprintln(input, "10")
	input.Close()
	got := <-done
	want := outcome{
		Stdout: "fib(37) = 24157817\nfib(10) = 55\n",
		Stderr: "processes: a worker process died (signal: killed) while computing fib(37) for line 1; trying again in a new worker process\n",
		Status: 0,
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		t.Errorf("worker processes left after the pool returned: %v", kids)
	}
}

// TestTaskFailsAfterTwoDeaths kills the worker computing a task, then its
// replacement: the task fails with a message in its place, the next line is
// still answered, and the exit status is non-zero.
func TestTaskFailsAfterTwoDeaths(t *testing.T) {
	input, done := startPool(t, 1)
	fmt.Fprintln(input, "45")
	fmt.Fprintln(input, "10")
	first := busyWorker(t, os.Getpid())
	syscall.Kill(first, syscall.SIGKILL)
	second := busyWorker(t, os.Getpid(), first)
	syscall.Kill(second, syscall.SIGKILL)
	input.Close()
	got := <-done
	want := outcome{
		Stdout: "fib(10) = 55\n",
		Stderr: "processes: a worker process died (signal: killed) while computing fib(45) for line 1; trying again in a new worker process\n" +
			"processes: a worker process died (signal: killed) while computing fib(45) for line 1; that is 2 deaths, giving up on it\n" +
			"line 1: fib(45) failed: 2 worker processes died computing it\n",
		Status: 1,
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		t.Errorf("worker processes left after the pool returned: %v", kids)
	}
}

// startProgram runs the program as a process of its own, in a new process
// group as a shell would, with two workers busy on long tasks. It returns
// the command, the worker processes' ids and the program's stderr.
func startProgram(t *testing.T) (*exec.Cmd, []int, *strings.Builder) {
	cmd := exec.Command(self(t), "-workers", "2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Two long tasks keep both workers busy, and the open input keeps the
	// pool waiting for more.
	fmt.Fprint(stdin, "45\n45\n")
	first := busyWorker(t, cmd.Process.Pid)
	second := busyWorker(t, cmd.Process.Pid, first)
	t.Cleanup(func() { stdin.Close() })
	return cmd, []int{first, second}, &stderr
}

// TestSignals interrupts the program the ways a user does: Ctrl-C, which a
// terminal sends to the whole process group, workers included, and SIGTERM
// to the pool alone. The pool must stop promptly, with status 130, without
// taking its workers' deaths for faults, and leave no worker behind.
func TestSignals(t *testing.T) {
	tests := []struct {
		name string
		send func(pid int) error
	}{
		{"Ctrl-C: SIGINT to the process group", func(pid int) error { return syscall.Kill(-pid, syscall.SIGINT) }},
		{"SIGTERM to the pool", func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, workers, stderr := startProgram(t)
			start := time.Now()
			if err := tt.send(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Errorf("the pool took %v to stop", elapsed)
			}
			if got := cmd.ProcessState.ExitCode(); got != 130 {
				t.Errorf("exit status %d, want 130", got)
			}
			if got, want := stderr.String(), "processes: interrupted; the workers are stopped\n"; got != want {
				t.Errorf("stderr = %q, want %q", got, want)
			}
			for _, pid := range workers {
				if alive(pid) {
					t.Errorf("worker process %d is still running after the pool exited", pid)
				}
			}
		})
	}
}

// TestPoolKilled kills the pool with SIGKILL, which it cannot catch: its
// workers see their input end and exit on their own, after the task in hand.
func TestPoolKilled(t *testing.T) {
	cmd := exec.Command(self(t), "-workers", "2")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// One worker computes a task of a few tenths of a second; the other
	// starts with a trivial one and then waits for more.
	fmt.Fprint(stdin, "36\n1\n")
	busy := busyWorker(t, cmd.Process.Pid)
	var workers []int
	waitFor(t, "both workers have started", func() bool {
		workers = nil
		for _, p := range children(cmd.Process.Pid) {
			workers = append(workers, p.pid)
		}
		return len(workers) == 2
	})
	cmd.Process.Kill()
	cmd.Wait()
	stdin.Close()
	for _, pid := range workers {
		waitFor(t, fmt.Sprintf("worker %d (busy: %v) has exited", pid, pid == busy), func() bool { return !alive(pid) })
	}
}

// TestBrokenWorker: a worker that answers with nonsense is stopped and
// replaced like one that died, and nothing hangs.
func TestBrokenWorker(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken-worker")
	script := "#!/bin/sh\necho nonsense\nexec cat >/dev/null\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	var stderr lockedWriter
	ok := pool(context.Background(), broken, 1, strings.NewReader("7\n"), &stdout, &stderr)
	const stopped = "processes: a worker process was stopped for sending a line that is not the next answer while computing fib(7) for line 1; "
	want := stopped + "trying again in a new worker process\n" +
		stopped + "that is 2 deaths, giving up on it\n" +
		"line 1: fib(7) failed: 2 worker processes died computing it\n"
	if ok || stdout.String() != "" || stderr.String() != want {
		t.Errorf("ok = %v, stdout = %q, stderr:\n%s\nwant ok = false, no stdout, stderr:\n%s", ok, stdout.String(), stderr.String(), want)
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		t.Errorf("worker processes left after the pool returned: %v", kids)
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/goinparallel/fib"
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

// startPool runs a pool in this process with input from a pipe that the
// test writes, and returns the pipe and a channel that delivers the outcome.
func startPool(t *testing.T, p *pool) (io.WriteCloser, <-chan outcome) {
	inR, inW := io.Pipe()
	done := make(chan outcome, 1)
	go func() { done <- runPool(t, p, inR) }()
	return inW, done
}

// TestKilledWorkerTaskIsRetried kills a worker process from outside in the
// middle of a task: the pool reports it, starts a new worker, and the task
// is answered.
func TestKilledWorkerTaskIsRetried(t *testing.T) {
	input, done := startPool(t, &pool{workers: 1})
	fmt.Fprintln(input, "40") // About half a second: still computing when we kill it.
	victim := busyWorker(t, os.Getpid())
	syscall.Kill(victim, syscall.SIGKILL)
	fmt.Fprintln(input, "10")
	input.Close()
	want := outcome{
		Stdout: "fib(40) = 102334155\nfib(10) = 55\n",
		Stderr: "processes: a worker process died (signal: killed) while computing fib(40) for line 1; trying again in a new worker process\n",
	}
	if got := <-done; got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		t.Errorf("worker processes left after the pool returned: %v", kids)
	}
}

// TestStoppedWorker stops a worker process in the middle of a task, as
// SIGSTOP or a debugger does: at the deadline the pool kills it, says so, and
// tries the task again in a new worker, while the other worker answers the
// other lines.
func TestStoppedWorker(t *testing.T) {
	// The deadline leaves the new worker time enough to compute the task
	// in this build (slower under -race), and no more than that.
	start := time.Now()
	fib.Fib(40)
	timeout := (2*time.Since(start) + time.Second/2).Round(time.Second / 10)

	input, done := startPool(t, &pool{workers: 2, timeout: timeout})
	fmt.Fprintln(input, "40") // About half a second: still computing when we stop it.
	victim := busyWorker(t, os.Getpid())
	syscall.Kill(victim, syscall.SIGSTOP)
	fmt.Fprint(input, "10\n20\n")
	input.Close()
	want := outcome{
		Stdout: "fib(40) = 102334155\nfib(10) = 55\nfib(20) = 6765\n",
		Stderr: "processes: a worker process was stopped after " + timeout.String() + " while computing fib(40) for line 1; trying again in a new worker process\n",
	}
	if got := <-done; got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if alive(victim) {
		t.Errorf("the stopped worker process %d is still there", victim)
	}
}

// TestBrokenWorker: a worker that answers with nonsense is stopped and
// replaced like one that died, and nothing hangs.
func TestBrokenWorker(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken-worker")
	script := "#!/bin/sh\necho ready\nread task\necho nonsense\nexec cat >/dev/null\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	got := runPool(t, &pool{program: broken, workers: 1}, strings.NewReader("7\n"))
	const stopped = "processes: a worker process was stopped for sending a line that is not the next answer while computing fib(7) for line 1; "
	want := outcome{
		Stderr: stopped + "trying again in a new worker process\n" +
			stopped + "giving up on it\n" +
			"line 1: fib(7) failed in 2 worker processes\n",
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
// group as a shell would, and returns it with the pipe to its stdin.
func startProgram(t *testing.T, stdout io.Writer, args ...string) (*exec.Cmd, io.WriteCloser, *lockedWriter) {
	cmd := exec.Command(self(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := new(lockedWriter)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin, stderr
}

// workersOf returns the process ids of the worker processes of the program
// cmd, once there are n of them.
func workersOf(t *testing.T, cmd *exec.Cmd, n int) []int {
	var pids []int
	waitFor(t, fmt.Sprintf("%d workers have started", n), func() bool {
		pids = nil
		for _, p := range children(cmd.Process.Pid) {
			pids = append(pids, p.pid)
		}
		return len(pids) == n
	})
	return pids
}

// blockedWriting waits until a thread of process pid is blocked writing to
// a pipe, as the kernel tells in /proc/PID/task/TID/wchan.
func blockedWriting(t *testing.T, pid int) {
	waitFor(t, "the pool is blocked writing its output", func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
		for _, task := range tasks {
			if wchan, _ := os.ReadFile(task); strings.HasSuffix(string(wchan), "pipe_write") {
				return true
			}
		}
		return false
	})
}

// TestSignals interrupts the program the ways a user does, whatever it is
// waiting on: Ctrl-C, which a terminal sends to the whole process group,
// and SIGTERM to the pool alone; with both workers busy, with a worker
// stopped, and with standard output blocked by a reader that has stopped
// reading. The pool must end with status 130, say only that it was
// interrupted, and leave no worker behind.
func TestSignals(t *testing.T) {
	ctrlC := func(pid int) { syscall.Kill(-pid, syscall.SIGINT) }
	term := func(pid int) { syscall.Kill(pid, syscall.SIGTERM) }
	busy := func(t *testing.T, cmd *exec.Cmd, stdin io.Writer) []int {
		fmt.Fprint(stdin, "45\n45\n") // Both workers busy; more input may come.
		first := busyWorker(t, cmd.Process.Pid)
		return []int{first, busyWorker(t, cmd.Process.Pid, first)}
	}
	stopped := func(t *testing.T, cmd *exec.Cmd, stdin io.Writer) []int {
		fmt.Fprint(stdin, "45\n")
		victim := busyWorker(t, cmd.Process.Pid)
		syscall.Kill(victim, syscall.SIGSTOP)
		return workersOf(t, cmd, 2)
	}
	blocked := func(t *testing.T, cmd *exec.Cmd, stdin io.Writer) []int {
		workers := workersOf(t, cmd, 2)
		go func() { // Far more answers than a pipe holds.
			fmt.Fprint(stdin, strings.Repeat("1\n", 100_000))
		}()
		blockedWriting(t, cmd.Process.Pid)
		return workers
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, cmd *exec.Cmd, stdin io.Writer) []int
		send  func(pid int)
	}{
		{"Ctrl-C, workers busy", busy, ctrlC},
		{"SIGTERM, workers busy", busy, term},
		{"Ctrl-C, a worker stopped", stopped, ctrlC},
		{"SIGTERM, a worker stopped", stopped, term},
		{"Ctrl-C, stdout blocked", blocked, ctrlC},
		{"SIGTERM, stdout blocked", blocked, term},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer outR.Close()
			cmd, stdin, stderr := startProgram(t, outW, "-workers", "2")
			outW.Close()
			defer stdin.Close()
			workers := tt.setup(t, cmd, stdin)
			signalled := time.Now()
			tt.send(cmd.Process.Pid)
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			select {
			case <-exited:
			case <-time.After(30 * time.Second): // Only a hang takes this long.
				t.Fatal("the pool did not end")
			}
			t.Logf("the pool ended %v after the signal", time.Since(signalled))
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

// TestPoolKilled ends the pool without a chance to clean up, while its
// workers compute slow tasks that came after many quick ones: SIGKILL, which
// it cannot catch; SIGHUP and SIGQUIT, which it does not catch; and SIGPIPE,
// which kills it when the reader of its output has gone. Each worker holds
// at most one slow task, and writes what it has before it starts one: so it
// finds that the pool is gone, and exits, after the task in hand, not after
// every slow task of the input.
func TestPoolKilled(t *testing.T) {
	// How long one slow task takes in this build (slower under -race).
	start := time.Now()
	fib.Fib(38)
	oneTask := time.Since(start)

	kill := func(sig syscall.Signal) func(*exec.Cmd, io.Closer) {
		return func(cmd *exec.Cmd, _ io.Closer) { cmd.Process.Signal(sig) }
	}
	tests := []struct {
		name string
		sig  syscall.Signal // the signal that ends the pool
		end  func(pool *exec.Cmd, output io.Closer)
	}{
		{"SIGKILL", syscall.SIGKILL, kill(syscall.SIGKILL)},
		{"SIGHUP", syscall.SIGHUP, kill(syscall.SIGHUP)},
		{"SIGQUIT", syscall.SIGQUIT, kill(syscall.SIGQUIT)},
		{"SIGPIPE: the reader of its output goes", syscall.SIGPIPE, func(_ *exec.Cmd, output io.Closer) { output.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if signal.Ignored(tt.sig) {
				// An ignored signal stays ignored in the programs we start
				// (nohup ignores SIGHUP, for one): it cannot end the pool.
				t.Skipf("%v is ignored here, and so in the pool", tt.sig)
			}
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd, stdin, _ := startProgram(t, outW, "-workers", "2")
			outW.Close()
			go io.Copy(io.Discard, outR) // Until the test closes outR.
			defer outR.Close()
			// Were each worker to compute all of its share, it would take
			// ten times as long as one slow task.
			fmt.Fprint(stdin, strings.Repeat("1\n", 2000)+strings.Repeat("38\n", 20))
			first := busyWorker(t, cmd.Process.Pid)
			workers := []int{first, busyWorker(t, cmd.Process.Pid, first)}
			ended := time.Now()
			tt.end(cmd, outR)
			waitFor(t, "the pool has died", func() bool { return !alive(cmd.Process.Pid) })
			for _, pid := range workers {
				waitFor(t, fmt.Sprintf("worker %d has exited", pid), func() bool { return !alive(pid) })
			}
			if took := time.Since(ended); took > 3*oneTask+2*time.Second {
				t.Errorf("the workers took %v to stop after the pool died, where one task takes %v", took, oneTask)
			}
		})
	}
}

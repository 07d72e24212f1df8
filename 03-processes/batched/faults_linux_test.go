package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// slow skips a fault test in quick mode (go test -short).
func slow(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the fault tests that kill, stop and signal real processes")
	}
}

// startPool runs a pool in this process with input from a pipe that the
// test writes, and returns the pipe and a function that waits for the
// outcome, for no longer than limit(t).
func startPool(t *testing.T, p *pool) (io.WriteCloser, func() outcome) {
	in, typing := pipe(t)
	done := goPool(t, p, in)
	return typing, func() outcome {
		t.Helper()
		return poolOutcome(t, done)
	}
}

// TestKilledWorkerTaskIsRetried kills a worker process from outside in the
// middle of a task: the pool reports it, starts a new worker, sends it the
// task in hand and every task behind it, and every line is answered.
func TestKilledWorkerTaskIsRetried(t *testing.T) {
	slow(t)
	dir := tellDir(t)
	input, wait := startPool(t, &pool{workers: 1})
	fmt.Fprintln(input, "1\n37\n1\n2\n3")
	victim := workerWith(t, dir, 37)
	syscall.Kill(victim, syscall.SIGKILL)
	fmt.Fprintln(input, "10")
	input.Close()
	want := outcome{
		Stdout: "fib(1) = 1\nfib(37) = 24157817\nfib(1) = 1\nfib(2) = 1\nfib(3) = 2\nfib(10) = 55\n",
		Stderr: "processes: line 2: the worker computing fib(37) died (signal: killed); trying a new worker\n",
	}
	if got := wait(); got != want {
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
	slow(t)
	// The deadline leaves the new worker ten times the time it needs to
	// compute the task in this build, so that a machine that gets busier
	// during the test does not fail it.
	timeout := (10*oneTask(34) + time.Second).Round(time.Second / 10)
	dir := tellDir(t)
	input, wait := startPool(t, &pool{workers: 2, timeout: timeout})
	fmt.Fprintln(input, "34")
	victim := workerWith(t, dir, 34)
	syscall.Kill(victim, syscall.SIGSTOP)
	fmt.Fprint(input, "10\n20\n")
	input.Close()
	want := outcome{
		Stdout: "fib(34) = 5702887\nfib(10) = 55\nfib(20) = 6765\n",
		Stderr: "processes: line 1: the worker computing fib(34) was stopped after " + timeout.String() + "; trying a new worker\n",
	}
	if got := wait(); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if alive(victim) {
		t.Errorf("the stopped worker process %d is still there", victim)
	}
}

// TestBrokenWorker: a worker that answers with nonsense is stopped and
// replaced like one that died, and nothing hangs.
func TestBrokenWorker(t *testing.T) {
	slow(t)
	broken := filepath.Join(t.TempDir(), "broken-worker")
	script := "#!/bin/sh\necho ready\nread task\necho nonsense\nexec cat >/dev/null\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	got := runPool(t, &pool{program: broken, workers: 1}, strings.NewReader("7\n"))
	const stopped = "processes: line 1: the worker computing fib(7) was stopped for a wrong answer; "
	want := outcome{
		Stderr: stopped + "trying a new worker\n" +
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

// TestWrongAnswer: a worker that answers a line it was not asked about, or
// that is not the next, is stopped, and that answer is not printed. (A
// liar that says fib(8) = 21 for line 2, when line 2 is its next task, is
// right.)
func TestWrongAnswer(t *testing.T) {
	slow(t)
	// The pool numbers lines from 1: it sends "1 7" and "2 8".
	tests := []struct{ name, answer, stdout string }{
		{"a line never sent", "5 13", ""},
		{"the next line first", "2 21", "fib(8) = 21\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			liar := filepath.Join(t.TempDir(), "liar")
			script := "#!/bin/sh\necho ready\nread task\necho '" + tt.answer + "'\nexec cat >/dev/null\n"
			if err := os.WriteFile(liar, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			got := runPool(t, &pool{program: liar, workers: 1}, strings.NewReader("7\n8\n"))
			if got.Stdout != tt.stdout || got.Status != 1 || !strings.Contains(got.Stderr, "the worker computing fib(7) was stopped for a wrong answer") {
				t.Errorf("got %+v, want stdout %q, status 1, and the worker stopped for its answer", got, tt.stdout)
			}
		})
	}
}

// TestWorkerWithAChild: a worker whose own child holds its standard output
// is stopped at the deadline all the same, and the pool ends. A child in
// the worker's process group is killed with it; one that has left the
// group (setsid) lives on, and the pool stops waiting for the output it
// holds after waitDelay. The pool's stderr is a file, as the program's is,
// which exec hands to the workers as it is: nothing in exec then stops
// waiting for the output, and the pool must.
func TestWorkerWithAChild(t *testing.T) {
	slow(t)
	for _, leaves := range []bool{false, true} {
		t.Run(fmt.Sprintf("child leaves the group: %v", leaves), func(t *testing.T) {
			tmp := t.TempDir()
			worker := filepath.Join(tmp, "worker")
			child := "sleep 1000 &\n"
			if leaves {
				child = "setsid sleep 1000 &\n"
			}
			// Each worker, the first and the one that replaces it, adds
			// its child to the list, before it says it is ready.
			children := filepath.Join(tmp, "children")
			script := "#!/bin/sh\n" + child + "echo $! >>" + children + "\necho ready\nexec sleep 1000\n"
			if err := os.WriteFile(worker, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			// Ours to clean up, whatever happens: the pool cannot reach a
			// child that has left the group. (noProcessLeft would find
			// it too, by the mark it inherits.)
			t.Cleanup(func() {
				for _, pid := range listed(children) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			stderr, err := os.Create(filepath.Join(tmp, "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			// The worker never answers: a short timeout stops it soon.
			got := runPool(t, &pool{program: worker, workers: 1, timeout: 200 * time.Millisecond, stderr: stderr}, strings.NewReader("7\n"))
			const stopped = "processes: line 1: the worker computing fib(7) was stopped after 200ms; "
			want := outcome{
				Stderr: stopped + "trying a new worker\n" + stopped + "giving up on it\n" +
					"line 1: fib(7) failed in 2 worker processes\n",
				Status: 1,
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			pids := listed(children)
			if len(pids) != 2 {
				t.Fatalf("the two workers listed %d children, want one each: %v", len(pids), pids)
			}
			for _, pid := range pids {
				if !leaves {
					waitFor(t, fmt.Sprintf("the worker's child %d has been killed", pid), func() bool { return !alive(pid) })
					continue
				}
				if !alive(pid) {
					t.Errorf("the worker's child %d, which left its group, has died: it did not hold the output", pid)
				}
				syscall.Kill(pid, syscall.SIGKILL)
				waitFor(t, fmt.Sprintf("the worker's child %d is gone, killed by the test", pid), func() bool { return !alive(pid) })
			}
		})
	}
}

// listed returns the process ids listed in the file at path, one a line.
func listed(path string) []int {
	data, _ := os.ReadFile(path)
	var pids []int
	for _, field := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(field); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startProgram runs the program as a process of its own, in a new process
// group as a shell would, and returns it with the pipe to its stdin and the
// file that takes its stderr. A file, unlike a pipe, does not make
// cmd.Wait wait for every process that inherited it, so that Wait tells
// when the pool itself has exited. When the test ends, passed or failed,
// the program is killed with its process group, and then whatever else is
// left (see noProcessLeft); and it dies with the test binary, should that
// die first (see dieWithTest).
func startProgram(t *testing.T, program string, stdout io.Writer, args ...string) (*exec.Cmd, io.WriteCloser, *os.File) {
	noProcessLeft(t)
	cmd := exec.Command(program, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithTest(t, cmd)
	// A worker that outlived the pool would hold the pipe of stdout, if
	// the test gave one: after the pool exits, we wait a second for it.
	cmd.WaitDelay = time.Second
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killProgram(cmd) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdin, stderr
}

// killProgram kills the program cmd, if it was started, and its process group,
// and waits for it. The group is killed only while the program has not
// been waited for: until then its process id, which is the group's, cannot
// be another's.
func killProgram(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if cmd.ProcessState == nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Process.Kill() // in case it has left its group
	}
	cmd.Wait()
}

// TestGroupKilledBeforeTheWorkerIsReaped: the pool kills a worker's
// process group by its number, which is the worker's, and which the system
// may give another process once the worker is reaped. So Wait must not
// reap the worker before Cancel has killed the group. Cancel here waits
// until the worker, whose input has ended, has exited, and 100ms more;
// then it checks that the worker is still there, a zombie: a pool that
// waited for the worker without waiting for Cancel has reaped it by then.
func TestGroupKilledBeforeTheWorkerIsReaped(t *testing.T) {
	noProcessLeft(t)
	w, err := startWorker(context.Background(), self(t), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	pid, kill := w.cmd.Process.Pid, w.cmd.Cancel
	reaped := false
	w.cmd.Cancel = func() error {
		for deadline := time.Now().Add(limit(t)); alive(pid) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		_, there := readProc(pid)
		reaped = !there
		return kill()
	}
	w.end(0)
	if reaped {
		t.Error("the worker was reaped before its group was killed: by then its number could have been another process's")
	}
}

// TestSecondInterrupt: a pool whose standard error is a pipe that nobody
// reads, full, waits a second at Ctrl-C to write its last message. A
// second Ctrl-C ends it at once, as it ends any program: by the signal.
// The test sends Ctrl-C every 10ms until the pool has ended.
func TestSecondInterrupt(t *testing.T) {
	w := fullPipe(t)
	dir := tellDir(t)
	cmd := exec.Command(self(t), "-workers", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	start(t, cmd)
	w.Close()
	workersOf(t, dir, cmd, 1) // The pool has started, and catches Ctrl-C.
	for start := time.Now(); !exitsWithin(cmd, 10*time.Millisecond); {
		if time.Since(start) > limit(t) {
			t.Fatalf("the pool has not ended after %v of Ctrl-C every 10ms", limit(t))
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	}
	cmd.Wait()
	status := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !status.Signaled() || status.Signal() != syscall.SIGINT {
		t.Errorf("the pool ended with %v, want it killed by a second Ctrl-C (signal: interrupt)", cmd.ProcessState)
	}
}

// waitExit waits for the program cmd to exit, and fails the test if it
// has not within limit(t): only a hang takes so long. Then it has the
// program print its goroutines (SIGQUIT), and shows what its stderr holds,
// so that the failure says what the program waited for. It watches the
// process rather than wait for it in a goroutine, which would race with
// the cleanup of startProgram after a failure.
func waitExit(t *testing.T, cmd *exec.Cmd) time.Duration {
	t.Helper()
	start := time.Now()
	if wait := limit(t); !exited(cmd, wait) {
		cmd.Process.Signal(syscall.SIGQUIT)
		exited(cmd, 5*time.Second) // A Go program prints its goroutines, then exits.
		var dump []byte
		if f, ok := cmd.Stderr.(*os.File); ok {
			dump, _ = os.ReadFile(f.Name())
		}
		t.Fatalf("the program has not exited after %v: it hangs. Its stderr, with its goroutines:\n%s", wait, dump)
	}
	cmd.Wait() // It has exited: this returns at once, or after cmd.WaitDelay.
	return time.Since(start)
}

// exited reports whether the program cmd has exited within wait.
func exited(cmd *exec.Cmd, wait time.Duration) bool {
	for start := time.Now(); alive(cmd.Process.Pid); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > wait {
			return false
		}
	}
	return true
}

// contents returns what the file f holds.
func contents(t *testing.T, f *os.File) string {
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// workersOf returns the process ids of the worker processes of the program
// cmd, once there are n of them and each has said it is ready, as its tell
// file in dir shows (see tellVar). A child that has not yet become a
// worker must not be stopped: Go's os/exec waits for a new process to
// start its program, and the feeder with it.
func workersOf(t *testing.T, dir string, cmd *exec.Cmd, n int) []int {
	var pids []int
	waitFor(t, fmt.Sprintf("%d workers have started", n), func() bool {
		pids = nil
		for _, p := range children(cmd.Process.Pid) {
			if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(p.pid)+".out")); err == nil {
				pids = append(pids, p.pid)
			}
		}
		return len(pids) == n
	})
	return pids
}

// blockedWriting waits until a thread of process pid is blocked writing to
// a pipe, as the kernel tells in /proc/PID/task/TID/wchan.
func blockedWriting(t *testing.T, pid int) {
	blockedIn(t, pid, "pipe_write", "the pool is blocked writing to a pipe")
}

// blockedIn waits until a thread of process pid is blocked in the kernel
// function wait, as /proc/PID/task/TID/wchan tells; what says it in words.
func blockedIn(t *testing.T, pid int, wait, what string) {
	waitFor(t, what, func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
		for _, task := range tasks {
			if wchan, _ := os.ReadFile(task); strings.HasSuffix(string(wchan), wait) {
				return true
			}
		}
		return false
	})
}

// TestSignals interrupts the program the ways a user does, whatever it is
// waiting on: Ctrl-C, which a terminal sends to the whole process group,
// ten of them in a row, SIGTERM to the pool alone, and SIGHUP, which comes
// when the terminal closes; with both workers
// busy, with a worker stopped while it computes, with a worker stopped
// after its last answer once the input has ended, and with standard output
// blocked by a reader that has stopped reading. The pool must end at once
// with status 130, say only that it was interrupted, and leave no worker
// behind.
func TestSignals(t *testing.T) {
	slow(t)
	ctrlC := func(pid int) { syscall.Kill(-pid, syscall.SIGINT) }
	term := func(pid int) { syscall.Kill(pid, syscall.SIGTERM) }
	hangUp := func(pid int) { syscall.Kill(pid, syscall.SIGHUP) } // The terminal closes.
	busy := func(t *testing.T, dir string, cmd *exec.Cmd, stdin io.WriteCloser) []int {
		fmt.Fprint(stdin, "45\n45\n") // Both workers busy; more input may come.
		first := workerWith(t, dir, 45)
		return []int{first, workerWith(t, dir, 45, first)}
	}
	stopped := func(t *testing.T, dir string, cmd *exec.Cmd, stdin io.WriteCloser) []int {
		fmt.Fprint(stdin, "45\n")
		syscall.Kill(workerWith(t, dir, 45), syscall.SIGSTOP)
		return workersOf(t, dir, cmd, 2)
	}
	stoppedAtTheEnd := func(t *testing.T, dir string, cmd *exec.Cmd, stdin io.WriteCloser) []int {
		workers := workersOf(t, dir, cmd, 2)
		for _, pid := range workers {
			syscall.Kill(pid, syscall.SIGSTOP)
		}
		stdin.Close() // Nothing to compute: the pool waits for its workers to exit.
		return workers
	}
	blocked := func(t *testing.T, dir string, cmd *exec.Cmd, stdin io.WriteCloser) []int {
		workers := workersOf(t, dir, cmd, 2)
		go func() { // Far more answers than a pipe holds.
			fmt.Fprint(stdin, strings.Repeat("1\n", 100_000))
		}()
		blockedWriting(t, cmd.Process.Pid)
		return workers
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string, cmd *exec.Cmd, stdin io.WriteCloser) []int
		send  func(pid int)
	}{
		{"Ctrl-C, workers busy", busy, ctrlC},
		{"SIGTERM, workers busy", busy, term},
		{"SIGHUP, workers busy", busy, hangUp},
		{"Ctrl-C, a worker stopped", stopped, ctrlC},
		{"SIGTERM, a worker stopped", stopped, term},
		{"Ctrl-C, workers stopped at the end of the input", stoppedAtTheEnd, ctrlC},
		{"SIGTERM, workers stopped at the end of the input", stoppedAtTheEnd, term},
		{"Ctrl-C, stdout blocked", blocked, ctrlC},
		{"SIGTERM, stdout blocked", blocked, term},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tellDir(t)
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer outR.Close()
			cmd, stdin, stderr := startProgram(t, self(t), outW, "-workers", "2")
			outW.Close()
			defer stdin.Close()
			workers := tt.setup(t, dir, cmd, stdin)
			tt.send(cmd.Process.Pid)
			waitExit(t, cmd)
			// A pool that waited for its busy workers to finish let them
			// compute fib(45), which takes seconds; one that waits for a
			// stopped worker, or its blocked output, hangs, and waitExit
			// says so.
			for _, pid := range answered45(dir) {
				t.Errorf("worker process %d computed fib(45) to the end: the pool waited for it after the signal", pid)
			}
			if got := cmd.ProcessState.ExitCode(); got != 130 {
				t.Errorf("%v, want exit status 130", cmd.ProcessState)
			}
			if got, want := contents(t, stderr), "processes: interrupted; the workers are stopped\n"; got != want {
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

// TestInterruptedWhileBlocked interrupts the program while it waits on
// something outside the pool, which no signal ends: opening a named pipe
// (FIFO) that no program opens to write, or writing to a stderr that is a
// pipe nobody reads, full of the messages for many bad lines. It must end
// as promptly as ever, with status 130.
func TestInterruptedWhileBlocked(t *testing.T) {
	slow(t)
	t.Parallel() // It starts programs of its own, with marks of its own (see dieWithTest).
	fifo := func(t *testing.T, cmd *exec.Cmd) {
		path := filepath.Join(t.TempDir(), "input")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Args = append(cmd.Args, path)
		start(t, cmd)
		blockedIn(t, cmd.Process.Pid, "wait_for_partner", "the pool is blocked opening the FIFO")
	}
	fullStderr := func(t *testing.T, cmd *exec.Cmd) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		t.Cleanup(func() { r.Close() }) // Nobody reads it until the test ends.
		cmd.Stderr = w
		cmd.Stdin = strings.NewReader(strings.Repeat("x\n", 100_000)) // Far more messages than a pipe holds.
		start(t, cmd)
		blockedWriting(t, cmd.Process.Pid)
	}
	ctrlC := func(pid int) { syscall.Kill(-pid, syscall.SIGINT) }
	term := func(pid int) { syscall.Kill(pid, syscall.SIGTERM) }
	tests := []struct {
		name  string
		setup func(t *testing.T, cmd *exec.Cmd)
		send  func(pid int)
	}{
		{"Ctrl-C, opening a FIFO", fifo, ctrlC},
		{"SIGTERM, opening a FIFO", fifo, term},
		{"Ctrl-C, stderr full", fullStderr, ctrlC},
		{"SIGTERM, stderr full", fullStderr, term},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(self(t), "-workers", "2")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			tt.setup(t, cmd)
			tt.send(cmd.Process.Pid)
			waitExit(t, cmd) // A program that waits on is a hang, which waitExit reports.
			if got := cmd.ProcessState.ExitCode(); got != 130 {
				t.Errorf("%v, want exit status 130", cmd.ProcessState)
			}
		})
	}
}

// start starts cmd, which dies with the test binary (see dieWithTest). When
// the test ends, cmd is killed with its process group, and then whatever
// else is left (see noProcessLeft).
func start(t *testing.T, cmd *exec.Cmd) {
	noProcessLeft(t)
	dieWithTest(t, cmd)
	cmd.WaitDelay = time.Second // for the pipes the test gave it
	t.Cleanup(func() { killProgram(cmd) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// answered45 returns the worker processes, of those that tell what they do
// in dir (see tellVar), that have written the answer to fib(45), or were
// about to: a worker computes it for seconds, and more under the race
// detector, and a pool that ends at once leaves it no time to.
func answered45(dir string) []int {
	var pids []int
	files, _ := filepath.Glob(filepath.Join(dir, "*.out.tried"))
	for _, f := range files {
		if answers, _ := os.ReadFile(f); strings.Contains(string(answers), " 1134903170\n") {
			pid, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".out.tried"))
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestReplacedProgram rebuilds the program's file while it runs, as a
// go build in another terminal does, then kills its worker: the new worker
// is the pool's own program, not the new file.
func TestReplacedProgram(t *testing.T) {
	slow(t)
	dir := tellDir(t)
	program := filepath.Join(t.TempDir(), "processes")
	binary, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(program, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd, stdin, stderr := startProgram(t, program, &stdout, "-workers", "1")
	fmt.Fprintln(stdin, "40")
	victim := workerWith(t, dir, 40)
	// A program that would answer every task wrongly.
	impostor := program + ".new"
	if err := os.WriteFile(impostor, []byte("#!/bin/sh\necho ready\nwhile read line n; do echo $line 0; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(impostor, program); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(victim, syscall.SIGKILL)
	fmt.Fprintln(stdin, "10")
	stdin.Close()
	waitExit(t, cmd)
	want := outcome{
		Stdout: "fib(40) = 102334155\nfib(10) = 55\n",
		Stderr: "processes: line 1: the worker computing fib(40) died (signal: killed); trying a new worker\n",
	}
	if diff := cmp.Diff(want, outcome{stdout.String(), contents(t, stderr), cmd.ProcessState.ExitCode()}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestOutputFails: when a write to stdout fails (here, a full disk), the
// pool says so and exits at once, killing its workers in the middle of
// their tasks, though its input is still open.
func TestOutputFails(t *testing.T) {
	slow(t)
	dir := tellDir(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	cmd, stdin, stderr := startProgram(t, self(t), full, "-workers", "2")
	defer stdin.Close()
	// The answer to 1 fills the buffer; the printer flushes it while it
	// waits for fib(45), which takes seconds, and that flush fails. A pool
	// that computed on would let its workers answer fib(45).
	fmt.Fprint(stdin, "1\n45\n45\n")
	waitExit(t, cmd)
	for _, pid := range answered45(dir) {
		t.Errorf("worker process %d computed fib(45) to the end: the pool computed on after the write failed", pid)
	}
	if got, want := contents(t, stderr), "processes: writing results: write /dev/stdout: no space left on device\n"; cmd.ProcessState.ExitCode() != 1 || got != want {
		t.Errorf("%v, stderr %q; want exit status 1, %q", cmd.ProcessState, got, want)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	for _, f := range files {
		if pid, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".out")); alive(pid) {
			t.Errorf("worker process %d is still running after the pool exited", pid)
		}
	}
}

// TestPoolKilled ends the pool without a chance to clean up, while its
// workers compute fib(45), which takes seconds: SIGKILL, which it cannot
// catch; SIGQUIT, which it does not catch; and SIGPIPE, which kills it when
// the reader of its output has gone and it writes. Linux kills each worker
// when the pool dies: no worker is left, and none has computed on to
// answer its fib(45).
func TestPoolKilled(t *testing.T) {
	slow(t)
	kill := func(sig syscall.Signal) func(*exec.Cmd, io.Closer) {
		return func(cmd *exec.Cmd, _ io.Closer) { cmd.Process.Signal(sig) }
	}
	tests := []struct {
		name string
		sig  syscall.Signal // the signal that ends the pool
		end  func(pool *exec.Cmd, output io.Closer)
	}{
		{"SIGKILL", syscall.SIGKILL, kill(syscall.SIGKILL)},
		{"SIGQUIT", syscall.SIGQUIT, kill(syscall.SIGQUIT)},
		{"SIGPIPE: the reader of its output goes", syscall.SIGPIPE, func(_ *exec.Cmd, output io.Closer) { output.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if signal.Ignored(tt.sig) {
				// An ignored signal stays ignored in the programs we start:
				// it cannot end the pool.
				t.Skipf("%v is ignored here, and so in the pool", tt.sig)
			}
			dir := tellDir(t)
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd, stdin, _ := startProgram(t, self(t), outW, "-workers", "2")
			outW.Close()
			defer outR.Close()
			// One worker computes fib(40), the other fib(45), which takes
			// thirty times as long. The pool writes fib(40) when it comes:
			// with the reader gone, it dies of SIGPIPE there.
			fmt.Fprint(stdin, "40\n45\n")
			workers := []int{workerWith(t, dir, 40), workerWith(t, dir, 45)}
			tt.end(cmd, outR)
			waitFor(t, "the pool has died", func() bool { return !alive(cmd.Process.Pid) })
			for _, pid := range workers {
				waitFor(t, fmt.Sprintf("worker %d has exited, after the pool died", pid), func() bool { return !alive(pid) })
			}
			for _, pid := range answered45(dir) {
				t.Errorf("worker %d computed on after the pool died: it answered fib(45)", pid)
			}
		})
	}
}

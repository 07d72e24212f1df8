package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A stepFault is a fault that a step of chapter 03 answers. check runs a
// program through the fault, and returns what went wrong, or nil when the
// program answered it.
type stepFault struct {
	name       string
	answeredBy string // the first step that answers it
	check      func(t *testing.T, program string) error
}

// TestSteps shows that each step of chapter 03 earns its place: for each
// fault that a step answers, the step before it fails, and the step itself
// and the chapter's pool pass. Run it with -v to see how the step before
// fails.
func TestSteps(t *testing.T) {
	slow(t)
	// Chapter 03's pools in the order a reader meets them: the first pool,
	// each hardening step, and the chapter's pool, the last step.
	steps := []string{"03-processes/pool1", "03-processes/pool2", "03-processes/pool3", "03-processes/pool4",
		"03-processes/pool5", "03-processes/pool6", "03-processes"}
	programs := map[string]string{}
	for _, step := range steps {
		programs[step] = build(t, step)
	}
	faults := []stepFault{
		{"a worker killed while it computes", "03-processes/pool2", workerKilled},
		{"a worker stopped while it computes", "03-processes/pool3", workerStopped},
		{"Ctrl-C", "03-processes/pool4", interruptedBy(func(pid int) { syscall.Kill(-pid, syscall.SIGINT) })},
		{"SIGTERM to the pool alone", "03-processes/pool4", interruptedBy(func(pid int) { syscall.Kill(pid, syscall.SIGTERM) })},
		{"workers that can no longer start", "03-processes/pool5", workersCannotStart},
		{"Ctrl-C while it opens a FIFO", "03-processes/pool6", interruptedOpeningAFIFO},
		{"Ctrl-C with its stderr full", "03-processes/pool6", interruptedWithStderrFull},
		{"the pool killed with SIGKILL", "03-processes", poolKilled},
		// Chapter 02's pool says so already: the first pool copies it.
		{"standard output closed", "03-processes/pool1", stdoutClosed},
	}
	for _, fault := range faults {
		i := slices.Index(steps, fault.answeredBy)
		before := "" // the step before, which must fail
		tried := []string{steps[i]}
		if i > 0 {
			before = steps[i-1]
			tried = append([]string{before}, tried...)
		}
		if i < len(steps)-1 {
			tried = append(tried, steps[len(steps)-1])
		}
		for _, step := range tried {
			t.Run(fault.name+"/"+filepath.Base(step), func(t *testing.T) {
				err := fault.check(t, programs[step])
				switch {
				case step == before && err == nil:
					t.Errorf("%s answers the fault already: the step after it is not needed for it", step)
				case step == before:
					t.Logf("as it should, %s fails: %v", step, err)
				case err != nil:
					t.Error(err)
				}
			})
		}
	}
}

// startStep starts program with args as a user would, with its stdout in
// a file, and returns it, its stdin, and the files of its stdout and stderr.
func startStep(t *testing.T, program string, args ...string) (*exec.Cmd, io.WriteCloser, *os.File, *os.File) {
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	cmd, stdin, stderr := startProgram(t, program, out, args...)
	out.Close()
	return cmd, stdin, out, stderr
}

// theWorker waits until the program cmd has one worker process, which has
// computed for at least a tenth of a second, and returns it: a worker
// busy with its task, and not starting up or waiting for one.
func theWorker(t *testing.T, cmd *exec.Cmd) int {
	var pid int
	waitFor(t, "a worker computes", func() bool {
		kids := children(cmd.Process.Pid)
		if len(kids) != 1 || kids[0].cpuTicks < 10 {
			return false
		}
		pid = kids[0].pid
		return true
	})
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// ended returns what the program cmd showed its user, once it has exited.
func ended(t *testing.T, cmd *exec.Cmd, stdout, stderr *os.File) outcome {
	waitExit(t, cmd)
	return outcome{contents(t, stdout), contents(t, stderr), cmd.ProcessState.ExitCode()}
}

// workerKilled kills the worker in the middle of its task. The pool must
// report it, and answer every line.
func workerKilled(t *testing.T, program string) error {
	cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
	fmt.Fprint(stdin, "42\n")
	syscall.Kill(theWorker(t, cmd), syscall.SIGKILL)
	fmt.Fprint(stdin, "2\n")
	stdin.Close()
	want := outcome{
		Stdout: "fib(42) = 267914296\nfib(2) = 1\n",
		Stderr: "processes: line 1: the worker computing fib(42) died (signal: killed); trying a new worker\n",
	}
	if diff := cmp.Diff(want, ended(t, cmd, stdout, stderr)); diff != "" {
		return fmt.Errorf("(-want +got):\n%s", diff)
	}
	return nil
}

// workerStopped stops the worker, as SIGSTOP or a debugger does, before it
// takes its second task. The pool must stop waiting for it at -timeout,
// and answer every line: a pool without a deadline waits for ever.
func workerStopped(t *testing.T, program string) error {
	args := []string{"-workers", "1", "-timeout", "1s"}
	if strings.HasSuffix(program, "pool2") {
		args = args[:2] // It has no -timeout.
	}
	cmd, stdin, stdout, stderr := startStep(t, program, args...)
	fmt.Fprint(stdin, "1\n")
	waitFor(t, "fib(1) is printed", func() bool { return contents(t, stdout) == "fib(1) = 1\n" })
	worker := children(cmd.Process.Pid)[0].pid
	t.Cleanup(func() { syscall.Kill(worker, syscall.SIGKILL) })
	syscall.Kill(worker, syscall.SIGSTOP)
	fmt.Fprint(stdin, "30\n")
	stdin.Close()
	if !exitsWithin(cmd, 10*time.Second) { // The pools that stop it end in about a second.
		return fmt.Errorf("the pool still waits, 10s after its input ended, for a worker that is stopped")
	}
	want := outcome{
		Stdout: "fib(1) = 1\nfib(30) = 832040\n",
		Stderr: "processes: line 2: the worker computing fib(30) was stopped after 1s; trying a new worker\n",
	}
	if diff := cmp.Diff(want, ended(t, cmd, stdout, stderr)); diff != "" {
		return fmt.Errorf("(-want +got):\n%s", diff)
	}
	return nil
}

// interruptedBy returns a check that sends the pool a signal while its
// worker computes. The pool must end with status 130 and one message, and
// leave no worker behind.
func interruptedBy(send func(pid int)) func(t *testing.T, program string) error {
	return func(t *testing.T, program string) error {
		cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
		defer stdin.Close()
		fmt.Fprint(stdin, "45\n")
		worker := theWorker(t, cmd)
		send(cmd.Process.Pid)
		got := ended(t, cmd, stdout, stderr)
		want := outcome{Stderr: "processes: interrupted; the workers are stopped\n", Status: 130}
		var errs []error
		if diff := cmp.Diff(want, got); diff != "" {
			errs = append(errs, fmt.Errorf("(-want +got):\n%s", diff))
		}
		if alive(worker) {
			errs = append(errs, fmt.Errorf("its worker computes on after the pool has exited"))
		}
		return errors.Join(errs...)
	}
}

// stdoutClosed starts the program with its standard output closed, as
// `>&-` does. It must say so, and exit with status 1.
func stdoutClosed(t *testing.T, program string) error {
	cmd := exec.Command("sh", "-c", `exec "$0" "$@" >&-`, program, "-workers", "1")
	cmd.Stdin = strings.NewReader("1\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Run()
	want := outcome{Stderr: "processes: writing results: standard output is closed\n", Status: 1}
	if diff := cmp.Diff(want, outcome{"", stderr.String(), cmd.ProcessState.ExitCode()}); diff != "" {
		return fmt.Errorf("(-want +got):\n%s", diff)
	}
	return nil
}

// workersCannotStart makes the program's file one that cannot be run, once
// its worker has answered a line, and then kills the worker: every new
// worker fails to start. The pool must say why once, not once per line,
// and fail the lines.
func workersCannotStart(t *testing.T, program string) error {
	// A copy of its own, since this test spoils it.
	data, err := os.ReadFile(program)
	if err != nil {
		t.Fatal(err)
	}
	program = filepath.Join(t.TempDir(), filepath.Base(program))
	if err := os.WriteFile(program, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
	fmt.Fprint(stdin, "1\n")
	waitFor(t, "fib(1) is printed", func() bool { return contents(t, stdout) == "fib(1) = 1\n" })
	os.Chmod(program, 0o644)
	worker := children(cmd.Process.Pid)[0].pid
	syscall.Kill(worker, syscall.SIGKILL)
	waitFor(t, "the worker is gone", func() bool { return !alive(worker) })
	fmt.Fprint(stdin, strings.Repeat("1\n", 5))
	stdin.Close()
	got := ended(t, cmd, stdout, stderr)
	if n := strings.Count(got.Stderr, "permission denied"); n != 1 || got.Status != 1 {
		return fmt.Errorf("exit status %d; %d times \"permission denied\" on stderr, want 1, and status 1:\n%s", got.Status, n, got.Stderr)
	}
	return nil
}

// poolKilled kills the pool with SIGKILL, which it cannot catch, while its
// worker computes. The worker must not compute on for the pool that is
// gone.
func poolKilled(t *testing.T, program string) error {
	cmd, stdin, _, _ := startStep(t, program, "-workers", "1")
	defer stdin.Close()
	fmt.Fprint(stdin, "42\n")
	worker := theWorker(t, cmd)
	cmd.Process.Kill()
	waitExit(t, cmd)
	// fib(42) takes a second of CPU or more. We wait for the worker to go,
	// or to compute for half a second more, which is its fault.
	before, _ := readProc(worker)
	for {
		p, ok := readProc(worker)
		switch {
		case !ok || p.state == 'Z':
			return nil
		case p.cpuTicks-before.cpuTicks >= 50:
			return fmt.Errorf("its worker computes on after the pool has died")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// interruptedOpeningAFIFO gives the program a named pipe (a FIFO) as its
// input, which nobody opens to write, and sends Ctrl-C while the program
// waits to open it. The program must end with status 130, as ever.
func interruptedOpeningAFIFO(t *testing.T, program string) error {
	path := filepath.Join(t.TempDir(), "input")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, stdin, stdout, stderr := startStep(t, program, path)
	defer stdin.Close()
	blockedIn(t, cmd.Process.Pid, "wait_for_partner", "the pool is blocked opening the FIFO")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if !exitsWithin(cmd, 10*time.Second) {
		return fmt.Errorf("Ctrl-C did not end the program in 10s: it still waits to open its input")
	}
	want := outcome{Stderr: "processes: interrupted; the workers are stopped\n", Status: 130}
	if diff := cmp.Diff(want, ended(t, cmd, stdout, stderr)); diff != "" {
		return fmt.Errorf("(-want +got):\n%s", diff)
	}
	return nil
}

// exitsWithin reports whether the program cmd exits within limit.
func exitsWithin(cmd *exec.Cmd, limit time.Duration) bool {
	for start := time.Now(); alive(cmd.Process.Pid); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > limit {
			return false
		}
	}
	return true
}

// interruptedWithStderrFull gives the program a stderr that is a pipe
// nobody reads, and so many bad lines that their messages fill it, and
// sends Ctrl-C while the program waits to write one. The program must end
// with status 130, as ever; its message may be lost.
func interruptedWithStderrFull(t *testing.T, program string) error {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() }) // Nobody reads it until the test ends.
	cmd := exec.Command(program)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = w
	cmd.Stdin = strings.NewReader(strings.Repeat("x\n", 100_000)) // Far more messages than a pipe holds.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	blockedWriting(t, cmd.Process.Pid)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if !exitsWithin(cmd, 10*time.Second) {
		return fmt.Errorf("Ctrl-C did not end the program in 10s: it still waits to write to stderr")
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 130 {
		return fmt.Errorf("%v, want exit status 130", cmd.ProcessState)
	}
	return nil
}

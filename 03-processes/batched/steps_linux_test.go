package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A stepFault is a fault that a step of chapter 03 answers. check runs a
// program through the fault, and returns what went wrong, or nil when the
// program answered it. It waits for the program no longer than patience:
// a program that takes longer hangs.
type stepFault struct {
	name       string
	answeredBy string // the first step that answers it
	check      func(t *testing.T, program string, patience time.Duration) error
}

// TestSteps shows that each step of chapter 03 earns its place and keeps
// its promises: for each fault that a step answers, the step before it
// fails, and the step itself and every step after it pass. A fault that
// chapter 02's pool answers already is answered by every step. Run it with
// -v to see how the step before fails.
func TestSteps(t *testing.T) {
	slow(t)
	t.Parallel() // It starts programs of its own, with marks of its own (see dieWithTest).
	// Chapter 03's pools in the order a reader meets them: the first pool,
	// each hardening step, and the chapter's pool, the last step.
	steps := []string{"03-processes", "03-processes/retry", "03-processes/deadline", "03-processes/interrupt",
		"03-processes/restarts", "03-processes/blocked", "03-processes/batched"}
	programs := buildAll(t, steps)
	faults := []stepFault{
		// Chapter 02's pool answers these: every step must.
		{"output fails while the input is open", "03-processes", outputFailsWithInputOpen},
		{"standard output discarded, as Python's DEVNULL does", "03-processes", outputDiscarded},
		// Each step answers one fault more.
		{"a worker killed while it computes", "03-processes/retry", workerKilled},
		{"a task two workers die on", "03-processes/retry", killedTwice},
		{"a worker stopped while it computes", "03-processes/deadline", workerStopped},
		{"a task too slow for -timeout, twice", "03-processes/deadline", tooSlowTwice},
		{"Ctrl-C", "03-processes/interrupt", interruptedBy(func(pid int) { syscall.Kill(-pid, syscall.SIGINT) })},
		{"SIGTERM to the pool alone", "03-processes/interrupt", interruptedBy(func(pid int) { syscall.Kill(pid, syscall.SIGTERM) })},
		{"SIGHUP to the pool alone (its terminal closes)", "03-processes/interrupt", interruptedBy(func(pid int) { syscall.Kill(pid, syscall.SIGHUP) })},
		{"workers that can no longer start", "03-processes/restarts", workersCannotStart},
		{"Ctrl-C while it opens a FIFO", "03-processes/blocked", interruptedOpeningAFIFO},
		{"Ctrl-C with its stderr full", "03-processes/blocked", interruptedWithStderrFull},
		{"Ctrl-C while it reports a dead worker to a full stderr", "03-processes/blocked", interruptedReportingToAFullStderr},
		{"the pool killed with SIGKILL", "03-processes/batched", poolKilled},
	}
	// The checks run side by side, six at a time: most of their time goes
	// in waiting, for a hang to show or for a worker to start, and six
	// keep two CPUs busy without slowing a check towards its patience.
	tokens := make(chan struct{}, 6)
	var running sync.WaitGroup
	defer running.Wait()
	for _, fault := range faults {
		i := slices.Index(steps, fault.answeredBy)
		for j, step := range steps {
			if j < i-1 {
				continue // Only the step before must fail; the ones before it may do anything.
			}
			mustFail := j == i-1
			// A step that passes ends within a few seconds even on a busy
			// machine; one that must fail hangs, and we need not wait long
			// to see it.
			patience := 10 * time.Second
			if mustFail {
				patience = 2 * time.Second
			}
			running.Go(func() {
				tokens <- struct{}{}        // acquire a token
				defer func() { <-tokens }() // release it
				t.Run(fault.name+"/"+filepath.Base(step), func(t *testing.T) {
					err := fault.check(t, programs[step], patience)
					switch {
					case mustFail && err == nil:
						t.Errorf("%s answers the fault already: the step after it is not needed for it", step)
					case mustFail:
						t.Logf("as it should, %s fails: %v", step, err)
					case err != nil:
						t.Error(err)
					}
				})
			})
		}
	}
}

// yourStep is the directory of a step that a reader writes after the first
// pool, as README's exercise asks: go test -run TestYourStep
// ./03-processes/batched -step 03-processes/mine.
var yourStep = flag.String("step", "", "`dir`ectory of the module, such as 03-processes/mine, of your next step after the first pool, which TestYourStep checks")

// TestYourStep checks the reader's own next step, from -step, as TestSteps
// checks retry: it must answer what chapter 02 answers, and a worker
// killed while it computes.
func TestYourStep(t *testing.T) {
	if *yourStep == "" {
		t.Skip("no -step: give the directory of your step, such as -step 03-processes/mine")
	}
	dir := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(*yourStep)), "./")
	program := buildAll(t, []string{dir})[dir]
	for _, fault := range []stepFault{
		{"output fails while the input is open", dir, outputFailsWithInputOpen},
		{"standard output discarded, as Python's DEVNULL does", dir, outputDiscarded},
		{"a worker killed while it computes", dir, workerKilled},
	} {
		t.Run(fault.name, func(t *testing.T) {
			if err := fault.check(t, program, 10*time.Second); err != nil {
				t.Errorf("%s: %v", dir, err)
			}
		})
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

// aWorker waits, for no longer than patience, until the program cmd has one
// worker process, not one of those in not, which has computed for at least
// a tenth of a second, and returns it.
func aWorker(cmd *exec.Cmd, patience time.Duration, not ...int) (pid int, ok bool) {
	for start := time.Now(); time.Since(start) < patience; time.Sleep(5 * time.Millisecond) {
		kids := slices.DeleteFunc(children(cmd.Process.Pid), func(p proc) bool { return slices.Contains(not, p.pid) })
		if len(kids) == 1 && kids[0].cpuTicks >= 10 {
			return kids[0].pid, true
		}
	}
	return 0, false
}

// ended returns what the program cmd showed its user, once it has exited,
// or an error that says it hangs if it has not within patience.
func ended(cmd *exec.Cmd, stdout, stderr *os.File, patience time.Duration) (outcome, error) {
	if !exitsWithin(cmd, patience) {
		return outcome{}, fmt.Errorf("the program has not exited after %v: it hangs", patience)
	}
	cmd.Wait() // It has exited: this returns at once.
	out, _ := os.ReadFile(stdout.Name())
	errs, _ := os.ReadFile(stderr.Name())
	return outcome{string(out), string(errs), cmd.ProcessState.ExitCode()}, nil
}

// compare returns an error that shows the difference between want and
// the outcome of a program, or err if the program did not end.
func compare(want, got outcome, err error) error {
	if err != nil {
		return err
	}
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("(-want +got):\n%s", diff)
	}
	return nil
}

// workerKilled kills the worker in the middle of its task. The pool must
// report it, and answer every line.
func workerKilled(t *testing.T, program string, patience time.Duration) error {
	cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
	fmt.Fprint(stdin, "40\n")
	syscall.Kill(theWorker(t, cmd), syscall.SIGKILL)
	fmt.Fprint(stdin, "2\n")
	stdin.Close()
	want := outcome{
		Stdout: "fib(40) = 102334155\nfib(2) = 1\n",
		Stderr: "processes: line 1: the worker computing fib(40) died (signal: killed); trying a new worker\n",
	}
	got, err := ended(cmd, stdout, stderr, patience)
	return compare(want, got, err)
}

// killedTwice kills the worker that computes a line, and then the worker
// that computes it again. The pool must give the line up after two
// workers, as README says, in its place, and end.
func killedTwice(t *testing.T, program string, patience time.Duration) error {
	cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
	fmt.Fprint(stdin, "45\n")
	first := theWorker(t, cmd)
	syscall.Kill(first, syscall.SIGKILL)
	second, ok := aWorker(cmd, patience, first)
	if !ok {
		return fmt.Errorf("no worker computes line 1 again %v after its first worker died", patience)
	}
	syscall.Kill(second, syscall.SIGKILL)
	stdin.Close()
	const died = "processes: line 1: the worker computing fib(45) died (signal: killed); "
	want := outcome{
		Stderr: died + "trying a new worker\n" + died + "giving up on it\nline 1: fib(45) failed in 2 worker processes\n",
		Status: 1,
	}
	got, err := ended(cmd, stdout, stderr, patience)
	return compare(want, got, err)
}

// tooSlowTwice gives the program fib(45), which takes seconds, under a
// -timeout of 300ms: the worker that computes it is stopped, and so is the
// one that tries it again, and the pool gives the line up and ends.
func tooSlowTwice(t *testing.T, program string, patience time.Duration) error {
	args := []string{"-workers", "1", "-timeout", "300ms"}
	if strings.HasSuffix(program, "retry") {
		args = args[:2] // It has no -timeout.
	}
	cmd, stdin, stdout, stderr := startStep(t, program, args...)
	fmt.Fprint(stdin, "45\n")
	stdin.Close()
	const stopped = "processes: line 1: the worker computing fib(45) was stopped after 300ms; "
	want := outcome{
		Stderr: stopped + "trying a new worker\n" + stopped + "giving up on it\nline 1: fib(45) failed in 2 worker processes\n",
		Status: 1,
	}
	got, err := ended(cmd, stdout, stderr, patience)
	return compare(want, got, err)
}

// workerStopped stops the worker, as SIGSTOP or a debugger does, before it
// takes its second task. The pool must stop waiting for it at -timeout,
// and answer every line: a pool without a deadline waits for ever.
func workerStopped(t *testing.T, program string, patience time.Duration) error {
	args := []string{"-workers", "1", "-timeout", "1s"}
	if strings.HasSuffix(program, "retry") {
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
	// The pools that stop it end in about a second; a pool without a
	// deadline waits for ever.
	want := outcome{
		Stdout: "fib(1) = 1\nfib(30) = 832040\n",
		Stderr: "processes: line 2: the worker computing fib(30) was stopped after 1s; trying a new worker\n",
	}
	got, err := ended(cmd, stdout, stderr, patience)
	return compare(want, got, err)
}

// interruptedBy returns a check that sends the pool a signal while its
// worker computes. The pool must end with status 130 and one message, and
// leave no worker behind.
func interruptedBy(send func(pid int)) func(t *testing.T, program string, patience time.Duration) error {
	return func(t *testing.T, program string, patience time.Duration) error {
		cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
		defer stdin.Close()
		fmt.Fprint(stdin, "45\n")
		worker := theWorker(t, cmd)
		send(cmd.Process.Pid)
		got, err := ended(cmd, stdout, stderr, patience)
		want := outcome{Stderr: "processes: interrupted; the workers are stopped\n", Status: 130}
		errs := []error{compare(want, got, err)}
		if alive(worker) {
			errs = append(errs, fmt.Errorf("its worker computes on after the pool has exited"))
		}
		return errors.Join(errs...)
	}
}

// outputFailsWithInputOpen gives the program a standard output on which
// every write fails, a full disk, and input that stays open after three
// lines, as at a terminal. The program must say so and exit with status 1
// at once, as chapter 02's pool does, not when its input ends; and it must
// leave no worker behind.
func outputFailsWithInputOpen(t *testing.T, program string, patience time.Duration) error {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	cmd, stdin, stderr := startProgram(t, program, full, "-workers", "2")
	defer stdin.Close() // Only once the check is done.
	fmt.Fprint(stdin, "1\n2\n3\n")
	if !exitsWithin(cmd, patience) {
		return fmt.Errorf("the program has not exited %v after its output failed: it waits for its input to end", patience)
	}
	cmd.Wait()
	want := outcome{Stderr: "processes: writing results: write /dev/stdout: no space left on device\n", Status: 1}
	got := outcome{"", contents(t, stderr), cmd.ProcessState.ExitCode()}
	errs := []error{compare(want, got, nil)}
	if pids := workersRunning(t); len(pids) > 0 {
		errs = append(errs, fmt.Errorf("worker processes %v still run after the pool exited", pids))
	}
	return errors.Join(errs...)
}

// workersRunning returns the live worker processes that the test t
// started, through its pool.
func workersRunning(t *testing.T) []int {
	var pids []int
	for _, pid := range owned(markOf(t)) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasSuffix(string(cmdline), "\x00-worker\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// outputDiscarded gives the program /dev/null, open for reading and
// writing, as its standard output, as Python's subprocess.DEVNULL, a
// service manager and Go's runtime (for a stdout closed at start) do. The
// caller has chosen to throw the results away: the program must answer
// every line as ever, and exit with status 0.
func outputDiscarded(t *testing.T, program string, patience time.Duration) error {
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	cmd, stdin, stderr := startProgram(t, program, devNull, "-workers", "2")
	fmt.Fprint(stdin, "1\nx\n3\n")
	stdin.Close()
	if !exitsWithin(cmd, patience) {
		return fmt.Errorf("the program has not exited %v after its input ended: it hangs", patience)
	}
	cmd.Wait()
	want := outcome{Stderr: "line 2: \"x\" is not a whole number\n", Status: 1}
	return compare(want, outcome{"", contents(t, stderr), cmd.ProcessState.ExitCode()}, nil)
}

// workersCannotStart makes the program's file one that cannot be run, once
// its worker has answered a line, and then kills the worker: every new
// worker fails to start. The pool must say why once, not once per line,
// and fail the lines.
func workersCannotStart(t *testing.T, program string, patience time.Duration) error {
	// A copy of its own, since this test spoils it. cp writes it, not this
	// process: a check running beside this one that started a program
	// while we held the copy open for writing would hold it open too, until
	// that program had started, and running the copy would then fail with
	// "text file busy".
	copied := filepath.Join(t.TempDir(), filepath.Base(program))
	cp := exec.Command("cp", program, copied)
	dieWithTest(t, cp) // Marked as this check's, so that no other check's cleanup kills it.
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	program = copied
	cmd, stdin, stdout, stderr := startStep(t, program, "-workers", "1")
	fmt.Fprint(stdin, "1\n")
	waitFor(t, "fib(1) is printed", func() bool { return contents(t, stdout) == "fib(1) = 1\n" })
	os.Chmod(program, 0o644)
	worker := children(cmd.Process.Pid)[0].pid
	syscall.Kill(worker, syscall.SIGKILL)
	waitFor(t, "the worker is gone", func() bool { return !alive(worker) })
	fmt.Fprint(stdin, strings.Repeat("1\n", 5))
	stdin.Close()
	got, err := ended(cmd, stdout, stderr, patience)
	if err != nil {
		return err
	}
	// README says: "after 3 failed starts in a row, the pool says why once".
	const gaveUp = "processes: 3 worker processes in a row failed to start (the last: "
	if n := strings.Count(got.Stderr, "permission denied"); n != 1 || got.Status != 1 || !strings.Contains(got.Stderr, gaveUp) {
		return fmt.Errorf("exit status %d; %d times \"permission denied\" on stderr, want 1, status 1, and stderr to say %q:\n%s", got.Status, n, gaveUp, got.Stderr)
	}
	return nil
}

// poolKilled kills the pool with SIGKILL, which it cannot catch, while its
// worker computes. The worker must not compute on for the pool that is
// gone.
func poolKilled(t *testing.T, program string, patience time.Duration) error {
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
func interruptedOpeningAFIFO(t *testing.T, program string, patience time.Duration) error {
	path := filepath.Join(t.TempDir(), "input")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, stdin, stdout, stderr := startStep(t, program, path)
	defer stdin.Close()
	blockedIn(t, cmd.Process.Pid, "wait_for_partner", "the pool is blocked opening the FIFO")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	want := outcome{Stderr: "processes: interrupted; the workers are stopped\n", Status: 130}
	got, err := ended(cmd, stdout, stderr, patience)
	return compare(want, got, err)
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
func interruptedWithStderrFull(t *testing.T, program string, patience time.Duration) error {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() }) // Nobody reads it until the test ends.
	cmd := exec.Command(program)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = w
	cmd.Stdin = strings.NewReader(strings.Repeat("x\n", 100_000)) // Far more messages than a pipe holds.
	start(t, cmd)
	w.Close()
	blockedWriting(t, cmd.Process.Pid)
	return endsAtCtrlC(cmd, patience, "it still waits to write to stderr")
}

// fullPipe returns the end to write to of a pipe that nobody reads until
// the test ends, and that is full.
func fullPipe(t *testing.T) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// A pipe takes as many bytes as its size without blocking, and no more.
	const getPipeSize = 1032 // F_GETPIPE_SZ, which package syscall does not name
	size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, w.Fd(), getPipeSize, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if _, err := w.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	return w
}

// endsAtCtrlC sends Ctrl-C to the program cmd, and returns an error unless
// it ends with status 130 within patience; stuck says what it is stuck on
// if it does not end.
func endsAtCtrlC(cmd *exec.Cmd, patience time.Duration, stuck string) error {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if !exitsWithin(cmd, patience) {
		return fmt.Errorf("Ctrl-C did not end the program in %v: %s", patience, stuck)
	}
	cmd.Wait()
	if got := cmd.ProcessState.ExitCode(); got != 130 {
		return fmt.Errorf("%v, want exit status 130", cmd.ProcessState)
	}
	return nil
}

// interruptedReportingToAFullStderr gives the program a stderr that is a
// pipe nobody reads, full before the program starts, and kills its worker:
// the pool waits to report the death. Ctrl-C must end it with status 130,
// as ever; its message is lost.
func interruptedReportingToAFullStderr(t *testing.T, program string, patience time.Duration) error {
	w := fullPipe(t)
	defer w.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(program, "-workers", "1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = out, w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	start(t, cmd)
	fmt.Fprint(stdin, "45\n")
	syscall.Kill(theWorker(t, cmd), syscall.SIGKILL)
	blockedWriting(t, cmd.Process.Pid)
	return endsAtCtrlC(cmd, patience, "it still waits to report its dead worker")
}

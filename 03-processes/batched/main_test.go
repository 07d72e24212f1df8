package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// The pool starts its worker processes from os.Executable(), which in a test
// is the test binary. roleVar tells that binary to be the program, or one of
// the broken workers below, rather than run the tests.
const roleVar = "PROCESSES_TEST_ROLE"

// tellVar names a directory in which each worker process that a test
// starts keeps two files, named for its process id: PID, of the task lines
// it has read, and PID.out, of what it has written. So a test knows which
// worker computes which task by what the worker does, not by how busy it
// looks (see workerWith).
const tellVar = "PROCESSES_TEST_TELL"

// onceVar names the file by which a "dying once worker" knows that one
// of them has died already.
const onceVar = "PROCESSES_TEST_ONCE"

// ownerVar marks the processes that this test binary starts, and the
// processes those start (see noProcessLeft).
const ownerVar = "PROCESSES_TEST_OWNER"

func TestMain(m *testing.M) {
	switch os.Getenv(roleVar) {
	case "program":
		if dir := os.Getenv(tellVar); dir != "" && slices.Equal(os.Args[1:], []string{"-worker"}) {
			path := filepath.Join(dir, strconv.Itoa(os.Getpid()))
			os.Exit(serve(&telling{r: os.Stdin, path: path}, &telling{w: os.Stdout, path: path + ".out"}, os.Stderr))
		}
		main()
	case "plain loop":
		// The sequential loop that the pools are measured against, as a
		// program of its own (see BenchmarkMillionOnes).
		if err := fibtest.Loop(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "dying worker":
		fmt.Println("ready")
		dieAfterATask(bufio.NewReader(os.Stdin))
	case "stuck worker":
		// Starts, reads a task, then never answers: a deadlock or an
		// endless loop.
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
		time.Sleep(time.Hour)
	case "dying once worker":
		// The first of these workers starts, reads a task and dies, as
		// "dying worker" does; the ones after it are real workers.
		if _, err := os.Stat(os.Getenv(onceVar)); err == nil {
			os.Exit(serve(os.Stdin, os.Stdout, os.Stderr))
		}
		os.WriteFile(os.Getenv(onceVar), nil, 0o644)
		fmt.Println("ready")
		dieAfterATask(bufio.NewReader(os.Stdin))
	case "dying on its second task once":
		// The first of these workers answers its first task, and dies on
		// its second; the ones after it are real workers.
		if _, err := os.Stat(os.Getenv(onceVar)); err == nil {
			os.Exit(serve(os.Stdin, os.Stdout, os.Stderr))
		}
		os.WriteFile(os.Getenv(onceVar), nil, 0o644)
		in := bufio.NewReader(os.Stdin)
		fmt.Println("ready")
		task, _ := in.ReadString('\n')
		line, n, _ := parsePair([]byte(task))
		value, _ := fib.Fib(n)
		fmt.Printf("%d %d\n", line, value)
		dieAfterATask(in)
	case "speaking slowly":
		// Answers each task 300ms after the one before, and flushes it.
		in := bufio.NewReader(os.Stdin)
		fmt.Println("ready")
		for task, err := in.ReadString('\n'); err == nil; task, err = in.ReadString('\n') {
			line, n, _ := parsePair([]byte(task))
			value, _ := fib.Fib(n)
			time.Sleep(300 * time.Millisecond)
			fmt.Printf("%d %d\n", line, value)
		}
		os.Exit(0)
	case "failing two starts in three":
		// Of these workers, started one at a time, the first two of every
		// three fail to start; the third answers one task and exits.
		starts, _ := os.ReadFile(os.Getenv(onceVar))
		os.WriteFile(os.Getenv(onceVar), append(starts, 'x'), 0o644)
		if len(starts)%3 != 2 {
			os.Exit(2)
		}
		fmt.Println("ready")
		task, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		line, n, _ := parsePair([]byte(task))
		value, _ := fib.Fib(n)
		fmt.Printf("%d %d\n", line, value)
		os.Exit(3)
	case "exiting slowly":
		// Serves, and when its input ends, takes 100ms to exit, then says
		// that it has, in the file PID.exited in the directory of tellVar.
		status := serve(os.Stdin, os.Stdout, os.Stderr)
		time.Sleep(100 * time.Millisecond)
		os.WriteFile(filepath.Join(os.Getenv(tellVar), strconv.Itoa(os.Getpid())+".exited"), nil, 0o644)
		os.Exit(status)
	case "crashing worker":
		// Dies as it starts, as a worker does when the system has no
		// threads left for a new Go runtime, with a long trace on stderr.
		fmt.Fprintln(os.Stderr, "runtime: failed to create new OS thread")
		fmt.Fprint(os.Stderr, strings.Repeat("\tstack\n", 100))
		os.Exit(2)
	}
	os.Setenv(roleVar, "program") // For the worker processes that tests start.
	// Every process that the tests start inherits a mark of this run, by
	// which noProcessLeft finds what a test leaves behind.
	os.Setenv(ownerVar, fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()))
	status := m.Run()
	// Each test that starts processes kills what it leaves behind; a
	// process found here escaped that, and fails the run.
	if left := killLeftovers(os.Getenv(ownerVar)); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the tests left processes running (killed now):\n%s\n", strings.Join(left, "\n"))
		status = 1
	}
	os.Exit(status)
}

// dieAfterATask is a worker that reads a task from in, then dies the way
// a crash or the OOM killer ends a process: it is killed.
func dieAfterATask(in *bufio.Reader) {
	in.ReadString('\n')
	self, _ := os.FindProcess(os.Getpid())
	self.Kill()
	time.Sleep(time.Hour)
}

// A telling is a worker's standard input or output that copies what
// passes through it to the file at path.
type telling struct {
	r    io.Reader
	w    io.Writer
	path string
}

func (t *telling) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.tell(p[:n])
	return n, err
}

// Write tells what the worker is about to write in the file at path plus
// ".tried", and what it has written at path only once the pool can read
// it: a test that sees an answer there and then kills the worker must not
// find the pool without it.
func (t *telling) Write(p []byte) (int, error) {
	tell(t.path+".tried", p)
	n, err := t.w.Write(p)
	tell(t.path, p[:n])
	return n, err
}

func (t *telling) tell(p []byte) {
	tell(t.path, p)
}

// tell appends p to the file at path.
func tell(path string, p []byte) {
	if len(p) == 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err) // The test that set tellVar sees the worker die.
	}
	f.Write(p)
	f.Close()
}

// tellDir has the worker processes that the test starts keep their tasks
// in a new directory (see tellVar), and returns it.
func tellDir(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv(tellVar, dir)
	return dir
}

// workerWith waits until a worker process computes fib(n), a slow task,
// and returns its process id; skip lists workers to pass over. A worker
// computes a task once it has read it and written the answers to the tasks
// before it, which it does before it starts a slow task.
func workerWith(t *testing.T, dir string, n int, skip ...int) int {
	t.Helper()
	var found int
	waitFor(t, fmt.Sprintf("a worker computes fib(%d)", n), func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
		for _, out := range files {
			pid, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(out), ".out"))
			read, _ := os.ReadFile(strings.TrimSuffix(out, ".out"))
			written, _ := os.ReadFile(out)
			if !slices.Contains(skip, pid) && computes(string(read), string(written), n) {
				found = pid
				return true
			}
		}
		return false
	})
	return found
}

// computes reports whether a worker that has read the task lines read and
// written the lines written is computing fib(n): the last task it read
// is for n, and every task before it is answered.
func computes(read, written string, n int) bool {
	tasks := strings.Fields(read) // line, n, line, n, ...
	if len(tasks) < 2 || tasks[len(tasks)-1] != strconv.Itoa(n) {
		return false
	}
	for i := 0; i+2 < len(tasks); i += 2 {
		if !strings.Contains(written, "\n"+tasks[i]+" ") && !strings.HasPrefix(written, tasks[i]+" ") {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds, and fails the test if it does not
// within limit(t).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	wait := limit(t)
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", wait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// limit is how long a test waits for anything that should happen:
// fibtest.Limit, a minute, far longer than anything takes even under the
// race detector on a busy machine; but less when go test's -timeout is
// nearer. That limit ends the whole test binary with a dump of its
// goroutines and without running one cleanup, which would leave behind
// the processes the test started: a test that waits must fail on its own,
// saying what it waited for, and with time left for its cleanups.
func limit(t testing.TB) time.Duration {
	return timeLeft(t, fibtest.Limit)
}

// cleanupTime is what a test keeps of go test's -timeout for its cleanups,
// or half of what is left, if that is less.
const cleanupTime = 20 * time.Second

// timeLeft returns most, or less when go test's -timeout comes sooner
// (less the time kept for cleanups), but never less than nothing.
func timeLeft(t testing.TB, most time.Duration) time.Duration {
	if t, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := t.Deadline(); ok {
			left := time.Until(deadline)
			most = min(most, left-min(cleanupTime, left/2))
		}
	}
	return max(most, 0)
}

// within runs f in a goroutine of its own and fails the test, naming what
// f does, if f has not returned within limit(t), as fibtest.Within does
// with go test's -timeout in view. After such a failure f runs on, so f
// must not call t's methods.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	wait := limit(t)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s has not returned after %v: it hangs", what, wait)
	}
}

// self returns the program to start workers from: this test binary, which
// runs main in the worker processes (see TestMain).
func self(t testing.TB) string {
	t.Helper()
	path, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedWriter lets the printer, the feeders and the worker processes'
// stderr share one buffer in a test, as they share os.Stderr in the program.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// outcome is what a run of the pool or the program shows its user.
type outcome struct {
	Stdout, Stderr string
	Status         int
}

// runPool runs a pool in this process on input and returns what it printed,
// with the exit status that run would return.
func runPool(t *testing.T, p *pool, input io.Reader) outcome {
	t.Helper()
	return poolOutcome(t, goPool(t, p, input))
}

// goPool runs the pool p on input in a goroutine of its own (see
// inBackground), and returns the channel that takes its outcome.
func goPool(t *testing.T, p *pool, input io.Reader) <-chan outcome {
	done := make(chan outcome, 1)
	program := self(t)
	inBackground(t, func(ctx context.Context) { done <- runWith(ctx, program, p, input) })
	return done
}

// goRun runs the program's run in a goroutine of its own (see
// inBackground), and returns the channel that takes its exit status, and
// the function that interrupts it, as Ctrl-C does.
func goRun(t *testing.T, args []string, stdin io.Reader, stdout, stderr io.Writer) (<-chan int, context.CancelFunc) {
	status := make(chan int, 1)
	interrupt := inBackground(t, func(ctx context.Context) { status <- run(ctx, args, stdin, stdout, stderr) })
	return status, interrupt
}

// inBackground runs pool, a pool of worker processes in this process, in
// a goroutine of its own, and returns the function that interrupts it.
// When the test ends, passed or failed, it interrupts the pool, which
// stops its workers, even if the test gave up waiting for it; waits for it
// to return; and then kills any process left (see noProcessLeft).
func inBackground(t *testing.T, pool func(interrupted context.Context)) context.CancelFunc {
	noProcessLeft(t)
	ctx, interrupt := context.WithCancel(context.Background())
	returned := make(chan struct{})
	t.Cleanup(func() {
		interrupt()
		wait := timeLeft(t, 10*time.Second)
		select {
		case <-returned:
		case <-time.After(wait):
			t.Errorf("the pool has not returned %v after it was interrupted", wait)
		}
	})
	go func() {
		defer close(returned)
		pool(ctx)
	}()
	return interrupt
}

// exitStatus waits for the exit status from goRun, for no longer than
// limit(t).
func exitStatus(t *testing.T, status <-chan int) int {
	t.Helper()
	var got int
	within(t, "the program", func() { got = <-status })
	return got
}

// poolOutcome waits for the outcome of a pool from goPool, for no longer
// than limit(t).
func poolOutcome(t *testing.T, done <-chan outcome) outcome {
	t.Helper()
	var got outcome
	within(t, "the pool", func() { got = <-done })
	return got
}

// runWith runs the pool p on input, with workers from program unless p
// names its own, and returns what it printed, with the exit status that
// run would return; a stderr that p names gets the reports too. A stderr
// that is a file, as the program's is, goes to the workers as it is, and
// the outcome holds what it was written. A failed write is a bug in the
// test.
func runWith(ctx context.Context, program string, p *pool, input io.Reader) outcome {
	var stdout strings.Builder
	var stderr lockedWriter
	if p.program == "" {
		p.program = program
	}
	if p.timeout == 0 {
		p.timeout = defaultTimeout
	}
	file, isFile := p.stderr.(*os.File)
	switch {
	case p.stderr == nil:
		p.stderr = &stderr
	case !isFile:
		p.stderr = io.MultiWriter(&stderr, p.stderr)
	}
	allAnswered, err := p.answerAll(ctx, input, &stdout)
	if err != nil {
		panic(err)
	}
	status := 0
	if !allAnswered {
		status = 1
	}
	if isFile {
		written, _ := os.ReadFile(file.Name())
		stderr.Write(written)
	}
	return outcome{stdout.String(), stderr.String(), status}
}

// TestRandomBatches: every number gets exactly its one correct line, in
// input order, whatever the number of workers.
func TestRandomBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for batch := range 8 {
		var input, want strings.Builder
		for range rng.IntN(500) {
			n := rng.IntN(23)
			fmt.Fprintf(&input, []string{"%d\n", " %d\r\n", "\n%d\t\n"}[rng.IntN(3)], n)
			v, _ := fib.Fib(n)
			fmt.Fprintf(&want, "fib(%d) = %d\n", n, v)
		}
		workers := 1 + batch%4
		got := runPool(t, &pool{workers: workers}, strings.NewReader(input.String()))
		if diff := cmp.Diff(outcome{Stdout: want.String()}, got); diff != "" {
			t.Fatalf("batch %d, %d workers (-want +got):\n%s", batch, workers, diff)
		}
	}
}

// TestAnswersWhileTheInputIsOpen: each typed number is answered before the
// next is typed, as at a terminal (see fibtest.Typing).
func TestAnswersWhileTheInputIsOpen(t *testing.T) {
	// The pool stops its workers when the test ends, even if the test gave
	// up waiting for it, and what is left is killed.
	noProcessLeft(t)
	ctx, interrupt := context.WithCancel(context.Background())
	t.Cleanup(interrupt)
	fibtest.Typing(t, func(in io.Reader, out io.Writer) bool {
		p := &pool{program: self(t), workers: 2, timeout: defaultTimeout, stderr: io.Discard}
		allAnswered, err := p.answerAll(ctx, in, out)
		return allAnswered && err == nil
	})
}

// TestWorkersCannotStart: if no worker process can start, the pool says so
// once, every line gets its one message in its place, and the pool ends.
func TestWorkersCannotStart(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-program")
	got := runPool(t, &pool{program: missing, workers: 3}, strings.NewReader("1\nx\n3\n"))
	lines := strings.Split(got.Stderr, "\n")
	want := []string{
		"", // the reason, which names the missing program in each system's words
		"line 1: fib(1) not computed: no worker process could be started to compute it",
		`line 2: "x" is not a whole number`,
		"line 3: fib(3) not computed: no worker process could be started to compute it",
		"",
	}
	// The pool says why before any line is printed.
	if len(lines) == len(want) && strings.HasPrefix(lines[0], "processes: 3 worker processes in a row failed to start (the last: ") &&
		strings.Contains(lines[0], "no-such-program") && strings.HasSuffix(lines[0], "); starting no more") {
		lines[0] = ""
	}
	if diff := cmp.Diff(want, lines); diff != "" || got.Stdout != "" || got.Status != 1 {
		t.Errorf("stdout %q, status %d, stderr (-want +got):\n%s", got.Stdout, got.Status, diff)
	}
}

// TestWorkersKeepCrashing: when every worker process dies as it starts,
// the pool stops starting them after maxFailedStarts in a row, says so
// once, and fails every line in its place. Each crash shows its whole
// trace on stderr; and there are no more crashes than the limit allows:
// the limit, and one more for each other feeder that was starting a
// worker when the pool gave up.
func TestWorkersKeepCrashing(t *testing.T) {
	t.Setenv(roleVar, "crashing worker")
	const workers = 2
	got := runPool(t, &pool{workers: workers}, strings.NewReader("1\nx\n3\n"))
	var crashes, traces int
	var rest []string
	for line := range strings.Lines(got.Stderr) {
		switch line {
		case "runtime: failed to create new OS thread\n":
			crashes++
		case "\tstack\n":
			traces++
		default:
			rest = append(rest, line)
		}
	}
	if traces != crashes*100 {
		t.Errorf("%d crashes showed %d lines of trace, want %d", crashes, traces, crashes*100)
	}
	want := []string{
		"processes: 3 worker processes in a row failed to start (the last: died (exit status 2)); starting no more\n",
		"line 1: fib(1) not computed: no worker process could be started to compute it\n",
		`line 2: "x" is not a whole number` + "\n",
		"line 3: fib(3) not computed: no worker process could be started to compute it\n",
	}
	if diff := cmp.Diff(want, rest); diff != "" || got.Stdout != "" || got.Status != 1 {
		t.Errorf("stdout %q, status %d, stderr (-want +got):\n%s", got.Stdout, got.Status, diff)
	}
	if crashes < maxFailedStarts || crashes > maxFailedStarts+workers-1 {
		t.Errorf("%d worker processes crashed, want from %d to %d", crashes, maxFailedStarts, maxFailedStarts+workers-1)
	}
}

// TestNoGoroutineOutlivesThePool checks that when the pool returns, its
// feeders, their readers, its reader and its printer have ended.
func TestNoGoroutineOutlivesThePool(t *testing.T) {
	fibtest.NoGoroutineLeft(t, func() { runPool(t, &pool{workers: 3}, strings.NewReader(strings.Repeat("15\nx\n", 50))) })
}

// TestWorkerDies: a worker process that dies is reported with how it ended,
// which differs between systems, and its task is tried once more; after a
// second death the pool gives up on the task, and every other line is still
// answered. README quotes these messages.
func TestWorkerDies(t *testing.T) {
	t.Setenv(roleVar, "dying worker")
	got := runPool(t, &pool{workers: 1}, strings.NewReader("45\n"))
	want := outcome{
		Stderr: "processes: line 1: the worker computing fib(45) " + death() + "; trying a new worker\n" +
			"processes: line 1: the worker computing fib(45) " + death() + "; giving up on it\n" +
			"line 1: fib(45) failed in 2 worker processes\n",
		Status: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// death is how a worker process killed from outside ends, in the words of
// the system: "signal: killed" on Linux and macOS; on Windows, where Kill
// ends a process with exit code 1, "exit status 1".
func death() string {
	if runtime.GOOS == "windows" {
		return "died (exit status 1)"
	}
	return "died (signal: killed)"
}

// TestReplacementGetsEveryTask: a worker process that dies holding several
// tasks is replaced, and the new worker gets every one of them, not only
// the one in hand.
func TestReplacementGetsEveryTask(t *testing.T) {
	t.Setenv(roleVar, "dying once worker")
	t.Setenv(onceVar, filepath.Join(t.TempDir(), "died"))
	got := runPool(t, &pool{workers: 1, timeout: 20 * time.Second}, strings.NewReader("1\n2\n3\n"))
	want := outcome{
		Stdout: "fib(1) = 1\nfib(2) = 1\nfib(3) = 2\n",
		Stderr: "processes: line 1: the worker computing fib(1) " + death() + "; trying a new worker\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSilenceIsBetweenAnswers: the deadline bounds the silence between two
// answers, not a batch. The worker here answers the five lines of a batch
// 300ms apart, 1.5s in all, under -timeout 1s, and is not stopped.
func TestSilenceIsBetweenAnswers(t *testing.T) {
	t.Setenv(roleVar, "speaking slowly")
	got := runPool(t, &pool{workers: 1, timeout: time.Second}, strings.NewReader("1\n2\n3\n4\n5\n"))
	want := outcome{Stdout: "fib(1) = 1\nfib(2) = 1\nfib(3) = 2\nfib(4) = 3\nfib(5) = 5\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a worker that answers every 300ms under -timeout 1s (-want +got):\n%s", diff)
	}
}

// TestFailedStartsCountInARow: the pool gives up starting workers after 3
// failed starts in a row, not 3 in all. Here two starts of every three fail,
// and the third worker answers one line and exits: four starts fail in
// all, never three in a row, and every line is answered.
func TestFailedStartsCountInARow(t *testing.T) {
	t.Setenv(roleVar, "failing two starts in three")
	t.Setenv(onceVar, filepath.Join(t.TempDir(), "starts"))
	got := runPool(t, &pool{workers: 1}, strings.NewReader("1\n2\n"))
	want := outcome{
		Stdout: "fib(1) = 1\nfib(2) = 1\n",
		Stderr: "processes: line 2: the worker computing fib(2) died (exit status 3); trying a new worker\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWorkersExitWhenTheInputEnds: at the end of the input, the pool closes
// each worker's input and lets it exit, rather than kill it. Each worker
// here takes 100ms to exit, and says when it has.
func TestWorkersExitWhenTheInputEnds(t *testing.T) {
	t.Setenv(roleVar, "exiting slowly")
	dir := tellDir(t)
	got := runPool(t, &pool{workers: 3}, strings.NewReader("1\n"))
	if diff := cmp.Diff(outcome{Stdout: "fib(1) = 1\n"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if exited, _ := filepath.Glob(filepath.Join(dir, "*.exited")); len(exited) != 3 {
		t.Errorf("%d of 3 workers exited of themselves: the pool killed the rest", len(exited))
	}
}

// TestWorkerStoppedAsItAnswered: a worker that its deadline stopped just
// as it gave its last answer owes nothing: the next batch goes to a new
// worker, and nothing is reported.
func TestWorkerStoppedAsItAnswered(t *testing.T) {
	noProcessLeft(t)
	var reports lockedWriter
	f := &feeder{pool: &pool{program: self(t), timeout: time.Hour, stderr: io.Discard}, ctx: context.Background(), starts: &startRecord{}, reports: &reports}
	if !f.start() {
		t.Fatal("no worker started")
	}
	stopped := f.worker
	stopped.stop(errLate)
	results := []result{{line: fib.Line{Number: 1, N: 7}}}
	f.compute(results)
	f.worker.end(0)
	if results[0].text != "fib(7) = 13\n" || reports.String() != "" || f.worker == stopped {
		t.Errorf("got %q, reports %q, and the same worker %v; want fib(7) = 13, no report, a new worker", results[0].text, reports.String(), f.worker == stopped)
	}
}

// oneTask returns how long fib(n) takes in this build (slower under -race),
// which is how long the worker processes, this same binary, take.
func oneTask(n int) time.Duration {
	start := time.Now()
	fib.Fib(n)
	return time.Since(start)
}

// TestDeadlineIsPerTask: -timeout bounds one task, not a worker's whole
// share. One worker computes tasks that together take several times the
// timeout, each far less, and none is stopped.
func TestDeadlineIsPerTask(t *testing.T) {
	// The timeout is far longer than a task, so that a task slowed down by
	// a busy machine still fits in it; the worker's share is twice as long.
	task := oneTask(32)
	timeout := 20*task + time.Second
	lines := int(2*timeout/task) + 1
	got := runPool(t, &pool{workers: 1, timeout: timeout}, strings.NewReader(strings.Repeat("32\n", lines)))
	want := outcome{Stdout: strings.Repeat("fib(32) = 2178309\n", lines)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%d tasks of %v each, -timeout %v (-want +got):\n%s", lines, task, timeout, diff)
	}
}

// TestIdleWorkerIsNotLate: a worker that has waited for a task for longer
// than -timeout is not late when the task comes: its clock runs only while
// it owes an answer. The answers alone cannot tell: a pool that stopped
// its idle worker, which holds no line, says nothing, and the next line
// starts a new worker. So the worker that answers the second line must be
// the process that answered the first.
func TestIdleWorkerIsNotLate(t *testing.T) {
	const timeout = 200 * time.Millisecond
	dir := tellDir(t)
	in, typing := pipe(t)
	done := goPool(t, &pool{workers: 1, timeout: timeout}, in)
	fmt.Fprintln(typing, "1")
	first := answeredBy(t, dir, "1 1\n")
	// The worker is idle now, for five timeouts: this is what we test,
	// not a wait for something.
	time.Sleep(5 * timeout)
	fmt.Fprintln(typing, "25")
	typing.Close()
	got := poolOutcome(t, done)
	if diff := cmp.Diff(outcome{Stdout: "fib(1) = 1\nfib(25) = 75025\n"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if second := answeredBy(t, dir, "2 75025\n"); second != first {
		t.Errorf("line 2 was answered by worker process %d, not by %d, which answered line 1 and then waited for it: the pool stopped its idle worker", second, first)
	}
}

// pipe returns a pipe for a pool's input, which the test closes when it
// ends. A pipe of the system, unlike io.Pipe, takes a few lines without
// waiting for the pool to read them: a pool that reads nothing fails the
// test where it waits for the pool, not where it writes.
func pipe(t *testing.T) (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// answeredBy waits until a worker process that tells what it does in dir
// (see tellVar) has written the answer line, and returns its process id.
func answeredBy(t *testing.T, dir, answer string) int {
	t.Helper()
	var pid int
	waitFor(t, fmt.Sprintf("a worker answers %q", answer), func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
		for _, out := range files {
			if written, _ := os.ReadFile(out); strings.Contains("\n"+string(written), "\n"+answer) {
				pid, _ = strconv.Atoi(strings.TrimSuffix(filepath.Base(out), ".out"))
				return true
			}
		}
		return false
	})
	return pid
}

// TestInterrupted: when the pool is interrupted while its workers compute,
// it returns at once, and only after its worker processes have exited: no
// goroutine is left, not even the ones that wait for the processes, nor the
// reader, whether it waits for input that may come or for the pool to take
// one of the many lines it has read. run then says so once and returns 130.
func TestInterrupted(t *testing.T) {
	inputs := map[string]func() (io.Reader, io.Closer){
		"more input may come": func() (io.Reader, io.Closer) {
			in, typing := io.Pipe()
			go fmt.Fprint(typing, "45\n45\n") // Until the pool reads it, or the test closes typing.
			return in, typing
		},
		"input left": func() (io.Reader, io.Closer) {
			return strings.NewReader(strings.Repeat("45\n", 4*inFlight)), io.NopCloser(nil)
		},
	}
	for name, input := range inputs {
		t.Run(name, func(t *testing.T) {
			dir := tellDir(t)
			fibtest.NoGoroutineLeft(t, func() {
				var stderr lockedWriter
				in, closer := input()
				defer closer.Close()
				status, interrupt := goRun(t, []string{"-workers", "2"}, in, io.Discard, &stderr)
				first := workerWith(t, dir, 45)
				workerWith(t, dir, 45, first)
				interrupt()
				if got := exitStatus(t, status); got != 130 {
					t.Errorf("status %d, want 130", got)
				}
				if got, want := stderr.String(), "processes: interrupted; the workers are stopped\n"; got != want {
					t.Errorf("stderr %q, want %q", got, want)
				}
			})
		})
	}
}

// TestInterruptedAtAnyStage: an interruption that came before run looked
// at its arguments, or while it parsed them, ends it the same way as one
// in the middle of the work: status 130 and one message, last.
func TestInterruptedAtAnyStage(t *testing.T) {
	interrupted, interrupt := context.WithCancel(context.Background())
	interrupt()
	for _, args := range [][]string{{}, {"-h"}, {"-workers", "0"}, {"-workers", "2", "no-such-file"}, {"-timeout", "x"}} {
		var stderr lockedWriter
		status := run(interrupted, args, strings.NewReader("1\n2\n"), io.Discard, &stderr)
		const message = "processes: interrupted; the workers are stopped\n"
		if got := stderr.String(); status != 130 || !strings.HasSuffix(got, message) || strings.Count(got, message) != 1 {
			t.Errorf("args %q: status %d, stderr %q; want 130, ending in %q once", args, status, got, message)
		}
	}
}

// TestFailedFlushWhileWaiting: when a flush fails while the printer waits
// for the next line, which a user may never type, the pool reports it at
// once and returns.
func TestFailedFlushWhileWaiting(t *testing.T) {
	fibtest.NoGoroutineLeft(t, func() {
		in, typing := io.Pipe()
		defer typing.Close() // Lets the reader, blocked in a read, end.
		go fmt.Fprint(typing, "1\n")
		p := &pool{program: self(t), workers: 2, timeout: defaultTimeout, stderr: io.Discard}
		failed := make(chan error, 1)
		inBackground(t, func(ctx context.Context) {
			_, err := p.answerAll(ctx, in, &fibtest.FullDisk{})
			failed <- err
		})
		var err error
		within(t, "the pool", func() { err = <-failed })
		if err == nil {
			t.Error("the pool reported no error")
		}
	})
}

// TestStuckWorker: a worker process that never answers is stopped at the
// deadline, never before, and its task tried again, and then given up.
func TestStuckWorker(t *testing.T) {
	t.Setenv(roleVar, "stuck worker")
	start := time.Now()
	got := runPool(t, &pool{workers: 1, timeout: 200 * time.Millisecond}, strings.NewReader("30\n"))
	// Each stuck worker was silent for the whole timeout, at least: the
	// clock may be late, never early.
	if took := time.Since(start); took < 2*200*time.Millisecond {
		t.Errorf("two stuck workers were stopped within %v, less than their two timeouts", took)
	}
	want := outcome{
		Stderr: "processes: line 1: the worker computing fib(30) was stopped after 200ms; trying a new worker\n" +
			"processes: line 1: the worker computing fib(30) was stopped after 200ms; giving up on it\n" +
			"line 1: fib(30) failed in 2 worker processes\n",
		Status: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestOutputThatCannotBeWritten: when stdout fails, the program says so in
// one line and exits 1, with its workers stopped, and no goroutine is left,
// though the reader had far more lines than the pool holds.
func TestOutputThatCannotBeWritten(t *testing.T) {
	fibtest.NoGoroutineLeft(t, func() {
		var stderr lockedWriter
		input := strings.NewReader(strings.Repeat("20\n", 10000))
		exited, _ := goRun(t, []string{"-workers", "2"}, input, &fibtest.FullDisk{Room: 5000}, &stderr)
		status := exitStatus(t, exited)
		if want := "processes: writing results: no space left on device\n"; status != 1 || stderr.String() != want {
			t.Errorf("status %d, stderr %q; want 1, %q", status, stderr.String(), want)
		}
	})
}

// TestSameAsChapter02 runs chapter 02's program and this one on the same
// inputs and arguments, good and bad, and requires byte-identical stdout
// and stderr and the same exit status.
func TestSameAsChapter02(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chapter 02")
	}
	t.Parallel() // It starts programs of its own, with marks of its own (see dieWithTest).
	// Both programs are built as a user builds them: under -race, this
	// test binary would compute ten times as slowly.
	built := buildAll(t, []string{"02-threads", "03-processes", "03-processes/retry", "03-processes/deadline",
		"03-processes/interrupt", "03-processes/restarts", "03-processes/blocked", "03-processes/batched"})
	threads := built["02-threads"]
	pools := map[string]string{"03's first pool": built["03-processes"], "03's full pool": built["03-processes/batched"]}
	for _, step := range []string{"retry", "deadline", "interrupt", "restarts", "blocked"} {
		pools["03's "+step] = built["03-processes/"+step]
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var random strings.Builder
	for range 2000 {
		switch rng.IntN(10) {
		case 0:
			random.WriteString("\n")
		case 1:
			fmt.Fprintf(&random, " %d\r\n", rng.IntN(23))
		case 2:
			fmt.Fprintf(&random, "%d\n", []int{-1, 46, 1000}[rng.IntN(3)])
		case 3:
			random.WriteString("x" + strings.Repeat("y", rng.IntN(80)) + "\n")
		default:
			fmt.Fprintf(&random, "%d\n", rng.IntN(23))
		}
	}
	numbers, _ := os.ReadFile("../../testdata/numbers.txt")
	mixed, _ := os.ReadFile("../../testdata/mixed.txt")
	inputs := map[string]string{
		"numbers.txt": string(numbers),
		"mixed.txt":   string(mixed),
		"empty":       "",
		"exit only":   "exit\n",
		"random":      random.String(),
		"1 MiB line":  "1\n" + strings.Repeat("2", 1<<20) + "\n3",
	}
	// Chapter 02's answers, once for every pool.
	type run struct{ input, workers string }
	want := map[run]outcome{}
	for name, input := range inputs {
		for _, workers := range []string{"1", "3"} {
			want[run{name, workers}] = runProgram(t, threads, input, "-workers", workers)
		}
	}
	for _, workers := range []string{"0", "256", "257"} {
		want[run{"1\n", workers}] = runProgram(t, threads, "1\n", "-workers", workers)
	}
	for pool, processes := range pools {
		// The steps between the first and the last share all this with
		// them: one run of each input is enough for them, and no pool of
		// 256 processes, which takes minutes to start under Wine.
		step := pool != "03's first pool" && pool != "03's full pool"
		for r, a := range want {
			input, ok := inputs[r.input]
			if !ok { // A run of the limits on -workers.
				input = r.input
			}
			if step && (r.workers == "1" || r.workers == "256") {
				continue
			}
			b := runProgram(t, processes, input, "-workers", r.workers)
			if !ok {
				// The same limits, and the same messages but for the
				// program's name.
				b.Stderr = strings.ReplaceAll(b.Stderr, "processes:", "threads:")
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("%q, -workers %s: chapter 02 and %s differ (-02 +03):\n%s", r.input, r.workers, pool, diff)
			}
		}
	}
}

// build builds the program in the directory dir of the module, and returns
// its path. A build that takes five minutes (or comes near go test's
// -timeout) hangs, and fails the test.
func build(t testing.TB, dir string) string {
	// The test cache knows only the files a test opens: reading the
	// program's makes an edit to it run this test again.
	fibtest.DependOn(t, "../../"+dir, "../../fib", "../../go.mod")
	exe := filepath.Join(t.TempDir(), filepath.Base(dir))
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	wait := timeLeft(t, 5*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", exe, "example.com/goinparallel/"+dir)
	dieWithTest(t, cmd)         // Marked as the test's, so that no other test's cleanup kills it.
	cmd.WaitDelay = time.Second // for the output, should the go command leave a process that holds it
	if out, err := cmd.CombinedOutput(); ctx.Err() != nil {
		t.Fatalf("building %s: go build has not ended after %v", dir, wait)
	} else if err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, out)
	}
	return exe
}

// buildAll builds the programs in the module's directories dirs, in one go
// command, which builds them side by side, and returns the path of each,
// by directory. A build that comes near go test's -timeout fails the test.
func buildAll(t testing.TB, dirs []string) map[string]string {
	out := t.TempDir()
	args := []string{"build", "-buildvcs=false", "-o", out + string(filepath.Separator)}
	paths := map[string]string{}
	for _, dir := range dirs {
		fibtest.DependOn(t, "../../"+dir) // A change to a program runs the test again.
		args = append(args, "example.com/goinparallel/"+dir)
		paths[dir] = filepath.Join(out, filepath.Base(dir))
		if runtime.GOOS == "windows" {
			paths[dir] += ".exe"
		}
	}
	fibtest.DependOn(t, "../../fib", "../../go.mod")
	wait := timeLeft(t, 5*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	dieWithTest(t, cmd) // Marked as the test's, so that no other test's cleanup kills it.
	cmd.WaitDelay = time.Second
	if msg, err := cmd.CombinedOutput(); ctx.Err() != nil {
		t.Fatalf("building %v: go build has not ended after %v", dirs, wait)
	} else if err != nil {
		t.Fatalf("building %v: %v\n%s", dirs, err, msg)
	}
	return paths
}

// runProgram runs the program at path with args on input, and returns
// what it showed its user. A program that has not exited after limit(t)
// hangs: it is killed, and the test fails.
func runProgram(t *testing.T, path, input string, args ...string) outcome {
	t.Helper()
	noProcessLeft(t)
	wait := limit(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	dieWithTest(t, cmd)
	// A worker that outlived its pool would hold the pipes of its
	// output: after the kill, we wait a second for them, no more.
	cmd.WaitDelay = time.Second
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %q has not exited after %v: it hangs. Its stderr:\n%s", path, args, wait, stderr.String())
	case err != nil && !errors.As(err, &exitErr):
		t.Fatal(err)
	}
	return outcome{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// TestSharedWithChapter02 holds the code that this chapter copies from
// chapter 02 identical to it, comments included: the tasks and results,
// the reader and the printer. A copy lets each chapter's main.go tell its
// whole story; this test keeps the two stories the same where they are.
// The steps copy chapter 02's pool, which hands out one line at a time;
// the chapter's pool, the last step, copies chapter 02's last step, which
// hands out batches.
func TestSharedWithChapter02(t *testing.T) {
	for _, copied := range []struct {
		from  string
		names []string
		dirs  []string
	}{
		{"../../02-threads/main.go",
			[]string{"maxWorkers", "inFlight", "queue", "task", "result", "read", "printInOrder", "receiveOrFlush"},
			[]string{"..", "../retry", "../deadline", "../interrupt", "../restarts", "../blocked"}},
		{"../../02-threads/batches/main.go",
			[]string{"maxWorkers", "inFlight", "budget", "maxBatch", "batch", "result", "read", "send", "printInOrder", "receiveOrFlush"},
			[]string{"."}},
	} {
		theirs := fibtest.Declarations(t, copied.from)
		for _, dir := range copied.dirs {
			ours := fibtest.Declarations(t, filepath.Join(dir, "main.go"))
			maps.Copy(ours, fibtest.Declarations(t, filepath.Join(dir, "chapter02.go")))
			for _, name := range copied.names {
				if ours[name] == "" || ours[name] != theirs[name] {
					t.Errorf("%s in %s differs from %s's (-02 +03):\n%s", name, dir, copied.from, cmp.Diff(theirs[name], ours[name]))
				}
			}
		}
	}
}

// recordingWriter keeps each write apart, to show how answers are batched;
// after failAfter writes, it fails, as a pipe does when the pool is gone.
type recordingWriter struct {
	writes    []string
	failAfter int
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if len(w.writes) == w.failAfter {
		return 0, errors.New("broken pipe")
	}
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// TestWorkerWritesBeforeSlowTasks: a worker batches quick answers, but
// writes what it has before it starts a slow task, and when it has no task
// to start. If that write fails, because the pool is gone, it stops there,
// after the task in hand, and says why.
func TestWorkerWritesBeforeSlowTasks(t *testing.T) {
	tasks := "1 1\n2 2\n3 30\n4 1\n5 30\n6 30\n"
	out := &recordingWriter{failAfter: 100}
	if status := serve(strings.NewReader(tasks), out, io.Discard); status != 0 {
		t.Fatalf("status %d, want 0", status)
	}
	want := []string{"ready\n", "1 1\n2 1\n", "3 832040\n4 1\n", "5 832040\n", "6 832040\n"}
	if diff := cmp.Diff(want, out.writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}

	out = &recordingWriter{failAfter: 2}
	var stderr strings.Builder
	status := serve(strings.NewReader(tasks), out, &stderr)
	if want := "processes -worker: writing answers: broken pipe\n"; status != 1 || stderr.String() != want {
		t.Errorf("with the pool gone: status %d, stderr %q; want 1, %q", status, stderr.String(), want)
	}
	if diff := cmp.Diff([]string{"ready\n", "1 1\n2 1\n"}, out.writes); diff != "" {
		t.Errorf("with the pool gone, writes (-want +got):\n%s", diff)
	}
}

// TestWorkerStopsWithAnswersOwed: a worker that meets a line it cannot take,
// because it is not a task or because it cannot be read at all (longer than
// the worker's buffer), first writes the answers it owes, then says why it
// stops, and exits with status 2.
func TestWorkerStopsWithAnswersOwed(t *testing.T) {
	long := strings.Repeat("7", 5000)
	tests := []struct{ tasks, why string }{
		{"1 1\n2 x\n", `bad task line "2 x": want LINE N`},
		{"1 1\n2 " + long + "\n", "reading tasks: bufio: buffer full"},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		status := serve(strings.NewReader(tt.tasks), &stdout, &stderr)
		got := outcome{stdout.String(), stderr.String(), status}
		want := outcome{"ready\n1 1\n", "processes -worker: " + tt.why + "\n", 2}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("tasks %.20q... (-want +got):\n%s", tt.tasks, diff)
		}
	}
}

// TestDefaultWorkers: with more CPUs for Go than a pool may have workers,
// the default is the most it may have, not a usage error. (It is a usage
// error when the user asks for more, as chapter 02's TestWorkersFlag shows.)
func TestDefaultWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(maxWorkers + 1))
	var stderr strings.Builder
	status := run(context.Background(), []string{"-h"}, strings.NewReader(""), io.Discard, &stderr)
	if want := fmt.Sprintf("at most %d (default %d)\n", maxWorkers, maxWorkers); status != 0 || !strings.Contains(stderr.String(), want) {
		t.Errorf("GOMAXPROCS %d, -h: status %d, usage:\n%s\nwant status 0, a default of %d workers", maxWorkers+1, status, stderr.String(), maxWorkers)
	}
}

// TestLostWorkersAnswersAreKept: the answers that a worker sent before it
// died answer their lines, and only the line it died on is tried again.
// The first worker here answers the first task of its batch, and dies on
// the second.
func TestLostWorkersAnswersAreKept(t *testing.T) {
	t.Setenv(roleVar, "dying on its second task once")
	t.Setenv(onceVar, filepath.Join(t.TempDir(), "died"))
	got := runPool(t, &pool{workers: 1}, strings.NewReader("1\n2\n3\n"))
	want := outcome{
		Stdout: "fib(1) = 1\nfib(2) = 1\nfib(3) = 2\n",
		Stderr: "processes: line 2: the worker computing fib(2) " + death() + "; trying a new worker\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

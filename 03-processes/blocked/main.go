// Blocked is chapter 03's sixth process pool: ../restarts, with one
// idea added. Ctrl-C ends the pool even while it waits on something outside
// itself, which no signal interrupts: to open its input, a named pipe that
// nobody opens to write, or to write a report to a standard error that is
// a pipe nobody reads.
//
// Usage:
//
//	blocked [-workers N] [-timeout D] [file]
//
// The full pool, ../batched, is this one with quick tasks sent in
// batches, and the fine points of a pool in the field (see ../README.md).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"example.com/goinparallel/fib"
)

// maxWorkers is the most workers a pool may have: far more than any machine
// has CPUs, and few enough that asking for too many is a clear error rather
// than a program that runs out of memory. Chapters 02 and 03 share it.
const maxWorkers = 256

// inFlight bounds how many lines may be read but not yet printed. Without a
// bound, a slow first line would let the reader run ahead and keep every
// later result in memory until the first one is printed.
const inFlight = 1024

// queue is the buffer of the channel of tasks. A buffer lets the reader and
// the workers each run for a while without waiting for the other to take a
// turn: fewer switches from one goroutine to another, a cheaper pool.
const queue = 256

// defaultTimeout is how long a worker process may take over one task before
// the pool kills it: over twenty times what fib(45), the slowest task there
// is, takes, so that a stuck worker is found while a valid task on a busy
// machine is not.
const defaultTimeout = 2 * time.Minute

func main() {
	// A worker process is this same program, started with -worker: it
	// reads numbers on its standard input and writes fib of each.
	if len(os.Args) == 2 && os.Args[1] == "-worker" {
		os.Exit(serve(os.Stdin, os.Stdout))
	}
	// From here on, Ctrl-C and the other interruptions do not kill the
	// program: they cancel interrupted, which ends the pool (see run).
	interrupted, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	os.Exit(run(interrupted, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status: 0 when every line was answered, 1 when a line was rejected or
// failed or the results could not be written, 2 for a usage error, 130
// when interrupted.
func run(interrupted context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("processes", flag.ContinueOnError)
	flags.SetOutput(stderr)
	workers := flags.Int("workers", min(runtime.GOMAXPROCS(0), maxWorkers), "number of worker processes")
	timeout := flags.Duration("timeout", defaultTimeout, "how long a worker process may take over one task")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: processes [-workers N] [-timeout D] [file]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err == flag.ErrHelp {
		return 0
	} else if err != nil {
		return 2
	}
	if *workers < 1 || *workers > maxWorkers {
		fmt.Fprintf(stderr, "processes: -workers %d: want from 1 to %d workers\n", *workers, maxWorkers)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "processes: -timeout %v: want a positive duration, such as 30s or 2m\n", *timeout)
		return 2
	}
	in, err := openInput(interrupted, flags.Args(), stdin)
	switch {
	case interrupted.Err() != nil:
		sayLast(stderr, "processes: interrupted; the workers are stopped")
		return 130
	case err != nil:
		fmt.Fprintf(stderr, "processes: %v\n", err)
		return 2
	}
	defer in.Close()
	// The workers run this very program: os.Executable finds its file.
	program, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "processes: cannot find this program to start workers: %v\n", err)
		return 1
	}
	allAnswered, err := pool(interrupted, program, *workers, *timeout, in, stdout, stderr)
	switch {
	case interrupted.Err() != nil:
		sayLast(stderr, "processes: interrupted; the workers are stopped")
		return 130
	case err != nil:
		fmt.Fprintf(stderr, "processes: writing results: %v\n", err)
		return 1
	case !allAnswered:
		return 1
	}
	return 0
}

// A task is one number for a worker, with the channel that takes its result.
// That channel has room for exactly one result, so the worker never waits to
// send it: it is a future, a result that will be there.
type task struct {
	line   fib.Line
	result chan<- result
}

// A result is what the printer prints for one line: the text of the answer,
// which the worker formats, or the error that rejected the line.
type result struct {
	line fib.Line
	text string
	err  error
}

// pool is chapter 02's pool with one change: where chapter 02 starts a
// goroutine that computes, we start a goroutine that feeds a worker process.
// The reader, the futures and the printer are chapter 02's (chapter02.go).
// When interrupted is done, pool kills the workers and returns at once.
func pool(interrupted context.Context, program string, workers int, timeout time.Duration, in io.Reader, stdout, stderr io.Writer) (allAnswered bool, err error) {
	// ctx stops the pool: when we are interrupted, or when the printer
	// cannot write, since nobody would see the rest of the results.
	ctx, cancel := context.WithCancel(interrupted)
	defer cancel()

	tasks := make(chan task, queue)
	futures := make(chan (<-chan result), inFlight)
	var starts startRecord // shared by the feeders

	var feeding sync.WaitGroup
	for range workers {
		feeding.Go(func() { feed(ctx, program, timeout, &starts, tasks, stderr) })
	}
	go func() {
		read(ctx, in, tasks, futures)
		close(tasks) // Each feeder then closes its worker's input...
		close(futures)
	}()
	// The printer has a goroutine of its own, as the reader has: a write
	// to stdout, or a read from a terminal, cannot be interrupted, and
	// this goroutine must stay free to hear that we are.
	type outcome struct {
		allAnswered bool
		err         error
	}
	printed := make(chan outcome, 1)
	go func() {
		allAnswered, err := printInOrder(ctx, futures, stdout, stderr)
		printed <- outcome{allAnswered, err}
		if err != nil {
			cancel() // Nobody will see the rest: stop the reader and the feeders.
		}
	}()
	feeding.Wait() // ...and waits for the worker to exit.
	// Interrupted, we leave the reader and the printer where they may be
	// blocked, to end with the program.
	select {
	case o := <-printed:
		return o.allAnswered, o.err
	case <-interrupted.Done():
		return false, nil
	}
}

// maxTries is how many worker processes may die on the same task before
// the pool gives up on it. One death may be bad luck, the machine out of
// memory say; a second is most likely the task's own fault.
const maxTries = 2

// feed keeps a worker process busy: for each task, it has the worker compute
// it, and sends the result on. When tasks is closed, it stops its worker.
// When ctx is done, it kills its worker and returns, whatever it waits for.
func feed(ctx context.Context, program string, timeout time.Duration, starts *startRecord, tasks <-chan task, stderr io.Writer) {
	f := &feeder{program: program, timeout: timeout, starts: starts, stderr: stderr, reports: untilDone{ctx, stderr}}
	defer f.stopWorker()
	for {
		select {
		case t, open := <-tasks:
			if !open {
				return
			}
			t.result <- f.compute(ctx, t.line)
		case <-ctx.Done():
			return
		}
	}
}

// A feeder is one feed loop: the program it starts workers from, how long
// a worker may take over a task, the pool's record of failed starts, the
// stderr its workers write to, where it reports faults, and its worker
// process, or nil until it needs one.
type feeder struct {
	program string
	timeout time.Duration
	starts  *startRecord
	stderr  io.Writer
	reports io.Writer // stderr, which we stop waiting for once ctx is done
	worker  *worker
}

// compute returns the result of line: its answer, from the feeder's worker
// process. If the worker dies first, or takes longer than the timeout and
// is killed, compute reports it, starts a new worker, and tries again, up
// to maxTries worker processes in all.
func (f *feeder) compute(ctx context.Context, line fib.Line) result {
	for tries := 1; ; tries++ {
		if f.worker == nil && !f.start(ctx) {
			return notComputed(line, errNoWorker)
		}
		value, ok, late := f.worker.ask(line.N, f.timeout)
		if ok {
			return result{line: line, text: fmt.Sprintf("fib(%d) = %s\n", line.N, value)}
		}
		if ctx.Err() != nil { // Not a fault: ctx has killed the worker.
			return notComputed(line, ctx.Err())
		}
		// The worker has died, or was killed: its output has ended. Wait
		// tells how.
		how := "died (" + f.stopWorker() + ")"
		if late {
			how = fmt.Sprintf("was stopped after %v", f.timeout)
		}
		if tries == maxTries {
			fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; giving up on it\n", line.Number, line.N, how)
			return result{line: line, err: fmt.Errorf("fib(%d) failed in %d worker processes", line.N, tries)}
		}
		fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; trying a new worker\n", line.Number, line.N, how)
	}
}

// start starts a worker process for the feeder. One that cannot start is
// counted, and another tried, until maxFailedStarts have failed in a row,
// in any of the pool's feeders: then the pool gives up starting them, and
// start reports false.
func (f *feeder) start(ctx context.Context) bool {
	for !f.starts.givenUp() {
		w, err := startWorker(ctx, f.program, f.stderr)
		if err != nil {
			f.starts.fail(err.Error(), f.reports)
			continue
		}
		f.starts.succeed()
		f.worker = w
		return true
	}
	return false
}

// maxFailedStarts is how many worker processes in a row may fail to start
// before the pool stops starting them: something is wrong with the program
// or the system, not with one worker.
const maxFailedStarts = 3

// errNoWorker fails the lines that no worker process is left to compute.
var errNoWorker = errors.New("no worker process could be started to compute it")

// A startRecord counts the worker processes that failed to start in a row,
// across the pool's feeders. Once there have been maxFailedStarts, the pool
// has given up starting them, for good.
type startRecord struct {
	mu     sync.Mutex
	inARow int // worker processes that failed to start since one last started
}

// fail counts a worker process that failed to start: why says how. When
// the pool gives up, it says so, once.
func (s *startRecord) fail(why string, stderr io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inARow++
	if s.inARow == maxFailedStarts {
		fmt.Fprintf(stderr, "processes: %d worker processes in a row failed to start (the last: %s); starting no more\n", s.inARow, why)
	}
}

// succeed records a worker process that started. Once the pool has given
// up, it stays given up.
func (s *startRecord) succeed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inARow < maxFailedStarts {
		s.inARow = 0
	}
}

// givenUp reports whether the pool has given up starting worker processes.
func (s *startRecord) givenUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inARow >= maxFailedStarts
}

// stopWorker closes the input of the feeder's worker process, if it has
// one, so that it exits, and waits until it has. It returns how the worker
// ended: "exit status 0", or "signal: killed", say.
func (f *feeder) stopWorker() string {
	if f.worker == nil {
		return ""
	}
	w := f.worker
	f.worker = nil
	w.tasks.Close()
	err := w.cmd.Wait() // This closes the worker's output, if we killed it.
	for range w.answers {
		// Whatever a killed worker said after its deadline: the goroutine
		// that reads its answers ends once we have taken them.
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}

// A worker is a running worker process, and the pipe of its tasks and the
// channel of its answers that the feeder talks to it through.
type worker struct {
	cmd     *exec.Cmd
	tasks   io.WriteCloser // the worker's standard input
	answers <-chan string  // its standard output, one answer at a time
}

// startWorker starts a worker process from program. When ctx is done, the
// worker is killed, and whatever waits for it ends: a read of its answers,
// or cmd.Wait.
func startWorker(ctx context.Context, program string, stderr io.Writer) (*worker, error) {
	cmd := exec.CommandContext(ctx, program, "-worker")
	cmd.Stderr = stderr
	// A terminal sends Ctrl-C to every process of its foreground process
	// group, and Windows to every process of its console. In a process
	// group of its own, the worker hears none of it (see process_*.go).
	cmd.SysProcAttr = ownProcessGroup()
	// The pipes fail only when cmd.Stdin or cmd.Stdout is set already.
	tasks, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// A read from a pipe cannot be given a deadline on every system
	// (Windows refuses), so a goroutine of the worker's own reads its
	// answers, and the feeder waits on a channel, which it can stop
	// waiting on. The goroutine ends when the worker's
	// output does: when it exits, or is killed. Its buffer holds the one
	// answer the worker owes, so that the goroutine never waits for a
	// feeder that has stopped listening.
	answers := make(chan string, 1)
	go func() {
		defer close(answers)
		for lines := bufio.NewScanner(stdout); lines.Scan(); {
			answers <- lines.Text()
		}
	}()
	return &worker{cmd: cmd, tasks: tasks, answers: answers}, nil
}

// ask writes n on the worker's input and waits for its answer, fib(n), for
// no longer than timeout. It reports false if the worker died first, or if
// it was late: then ask has killed it.
func (w *worker) ask(n int, timeout time.Duration) (value string, ok, late bool) {
	fmt.Fprintln(w.tasks, n)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case value, ok := <-w.answers:
		return value, ok, false
	case <-deadline.C:
		w.cmd.Process.Kill()
		return "", false, true
	}
}

// openInput opens the input, as fib.Open does, but returns when interrupted is
// done, whatever the open waits for: opening a named pipe (a FIFO) waits
// until something opens it to write, and no signal ends that wait. An open
// we stop waiting for goes on in its goroutine, which ends with the program.
func openInput(interrupted context.Context, args []string, stdin io.Reader) (io.ReadCloser, error) {
	type opened struct {
		in  io.ReadCloser
		err error
	}
	done := make(chan opened, 1)
	go func() {
		in, err := fib.Open(args, stdin)
		done <- opened{in, err}
	}()
	select {
	case o := <-done:
		return o.in, o.err
	case <-interrupted.Done():
		return nil, interrupted.Err()
	}
}

// lastWords bounds how long the program waits to write its last message.
const lastWords = time.Second

// sayLast writes the program's last message on stderr, but waits for that
// no longer than lastWords: stderr may be a pipe that nobody reads, and
// the message must not keep the program from ending.
func sayLast(stderr io.Writer, message string) {
	ctx, cancel := context.WithTimeout(context.Background(), lastWords)
	defer cancel()
	fmt.Fprintln(untilDone{ctx, stderr}, message)
}

// untilDone writes to w until ctx is done, and from then on stops waiting
// for a write. A write to stderr can wait for good, when stderr is a pipe
// that nobody reads, and a feeder stuck there would never see that the
// pool is interrupted. A write it stops waiting for goes on in a goroutine
// of its own, which ends when the write does, or with the program.
type untilDone struct {
	ctx context.Context
	w   io.Writer
}

func (u untilDone) Write(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, err
	}
	p = bytes.Clone(p) // The caller may reuse p once we return.
	written := make(chan error, 1)
	go func() {
		_, err := u.w.Write(p)
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			return 0, err
		}
		return len(p), nil
	case <-u.ctx.Done():
		return 0, u.ctx.Err()
	}
}

// notComputed is the result of a line that no worker computed, and why.
func notComputed(line fib.Line, why error) result {
	return result{line: line, err: fmt.Errorf("fib(%d) not computed: %w", line.N, why)}
}

// serve is a worker process: it reads one number per line and writes fib of
// each, one answer per line, until its input ends. The pool has checked
// every number already.
func serve(in io.Reader, out io.Writer) int {
	tasks := bufio.NewScanner(in)
	answers := bufio.NewWriter(out)
	for tasks.Scan() {
		n, _ := strconv.Atoi(tasks.Text())
		value, _ := fib.Fib(n)
		fmt.Fprintln(answers, value)
		// The pool waits for this answer before it sends the next task.
		if err := answers.Flush(); err != nil {
			return 1 // The pool has gone.
		}
	}
	return 0
}

// Batched is chapter 03's full pool of worker processes, its last step:
// ../blocked, with quick lines handed to the workers in batches, as in
// chapter 02's last step, and with the fine points of a pool in the field
// (see ../README.md).
//
// Usage:
//
//	processes [-workers N] [-timeout D] [file]
//
// The pool starts N copies of its own program with the flag -worker (see
// worker.go). A worker that dies, or stays silent for longer than D over a
// task, is reported and replaced, and its line is tried once more. Exit
// status: 0 when every line was answered, 1 when a line was rejected or
// failed or the results could not be written, 2 for a usage error, 130
// when interrupted (Ctrl-C, SIGTERM, or SIGHUP when its terminal closes).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"example.com/goinparallel/fib"
)

// maxWorkers is the most workers a pool may have: far more than any machine
// has CPUs, and few enough that asking for too many is a clear error rather
// than a program that runs out of memory. Chapters 02 and 03 share it.
const maxWorkers = 256

// inFlight bounds how many batches may be read but not yet printed, and
// so, with maxBatch, how many lines. Without a bound, a slow first line
// would let the reader run ahead and keep every later result in memory
// until the first one is printed.
const inFlight = 1024

// A batch closes when it is worth about a millisecond of work, budget, in
// calls of the recursive fib (fib.Calls counts them before it runs: about
// 0.8 billion a second); when it holds maxBatch lines; or when no more
// input is waiting to be read, so that a line typed at a terminal is
// answered at once. A line that would take the batch over budget starts
// the next one, and a line that costs the budget alone goes alone: no
// quick line waits behind a slow one in its batch.
const (
	budget   = 1_000_000
	maxBatch = 256
)

// defaultTimeout is how long a worker may stay silent over a task unless
// -timeout says otherwise: some twenty times what fib(45), the slowest
// task, takes, so that a stuck worker is found, and a slow one is not.
const defaultTimeout = 2 * time.Minute

// startupLimit is how long a new worker may take to say that it is ready.
const startupLimit = time.Minute

// maxFailedStarts is how many workers in a row may fail to start before
// the pool starts no more: the fault is the program's or the system's.
const maxFailedStarts = 3

// waitDelay bounds how long we wait for a killed worker's output to end,
// which a process it started may hold open, and for our last message to
// be written, to a standard error that nobody may read.
const waitDelay = time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-worker" {
		// A worker takes nothing but tasks on stdin: anything more is a
		// mistake, such as -worker typed for -workers.
		if len(os.Args) > 2 {
			fmt.Fprintln(os.Stderr, "processes: -worker takes no other flag or argument (did you mean -workers N?)")
			os.Exit(2)
		}
		os.Exit(serve(os.Stdin, os.Stdout, os.Stderr))
	}
	// The signals cancel interrupted, which ends the pool with one message
	// and status 130 (see run). SIGHUP comes when the terminal closes; on
	// Windows, Go delivers Ctrl-C as os.Interrupt, and the closing of the
	// console as SIGTERM. Once one has come, they are let go: a second one
	// ends the program at once, as it ends any program, even if stopping
	// the workers waits for something that never comes.
	interrupted, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	context.AfterFunc(interrupted, stop)
	os.Exit(run(interrupted, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the pool's main, with its inputs and outputs as parameters. It
// returns the exit status: 130 once interrupted is done, whatever else.
func run(interrupted context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	// However early the interruption, the user sees one message, last;
	// but we wait no longer than waitDelay to write it.
	defer func() {
		if interrupted.Err() != nil {
			ctx, cancel := context.WithTimeout(context.Background(), waitDelay)
			defer cancel()
			io.WriteString(untilDone{ctx, stderr}, "processes: interrupted; the workers are stopped\n")
			status = 130
		}
	}()
	flags := flag.NewFlagSet("processes", flag.ContinueOnError)
	flags.SetOutput(stderr)
	// GOMAXPROCS, unlike runtime.NumCPU, follows a CPU quota (a container's).
	workers := flags.Int("workers", min(runtime.GOMAXPROCS(0), maxWorkers), fmt.Sprintf("number of worker processes: one per CPU that Go may use (GOMAXPROCS), at most %d", maxWorkers))
	timeout := flags.Duration("timeout", defaultTimeout, "how long a worker process may stay silent over one task")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: processes [-workers N] [-timeout D] [file]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err == flag.ErrHelp {
		return 0 // The flag package has printed the usage that the user asked for.
	} else if err != nil {
		return 2
	}
	if *workers < 1 || *workers > maxWorkers {
		fmt.Fprintf(stderr, "processes: -workers %d: want from 1 to %d workers\n", *workers, maxWorkers)
		return 2
	}
	// A shorter deadline would stop workers that a busy machine paused.
	if *timeout < time.Millisecond {
		fmt.Fprintf(stderr, "processes: -timeout %v: want 1ms or more, such as 30s or 2m\n", *timeout)
		return 2
	}
	in, err := interruptible(interrupted, func() (io.ReadCloser, error) { return fib.Open(flags.Args(), stdin) })
	switch {
	case interrupted.Err() != nil:
		return 130 // The deferred function says so.
	case err != nil:
		fmt.Fprintf(stderr, "processes: %v\n", err)
		return 2
	}
	defer in.Close()
	program, err := workerProgram()
	if err != nil {
		fmt.Fprintf(stderr, "processes: cannot find this program to start workers: %v\n", err)
		return 1
	}
	p := &pool{program: program, workers: *workers, timeout: *timeout, stderr: stderr}
	allAnswered, err := p.answerAll(interrupted, in, stdout)
	switch {
	case interrupted.Err() != nil:
		return 130 // The deferred function says so.
	case err != nil:
		fmt.Fprintf(stderr, "processes: writing results: %v\n", err)
		return 1
	case !allAnswered:
		return 1
	}
	return 0
}

// A batch is a run of consecutive lines for a worker, with the channel that
// takes their results, all at once. That channel has room for exactly one
// slice of results, so the worker never waits to send it: it is a future,
// for the whole batch. The results come filled in for the lines that were
// rejected; the worker fills in the rest.
type batch struct {
	results []result
	future  chan<- []result
}

// A result is what the printer prints for one line: the text of the answer,
// which the worker formats, or the error that rejected the line.
type result struct {
	line fib.Line
	text string
	err  error
}

// A pool is a pool of worker processes, as the user asked for it.
type pool struct {
	program string        // the program to start workers from
	workers int           // how many worker processes
	timeout time.Duration // how long a worker may stay silent over a task
	stderr  io.Writer     // where faults are reported, and rejected lines
}

// answerAll answers every line of in with worker processes, like chapter
// 02's pool and Python's Executor.map: results in the order of the lines,
// computed in any order. It reports whether every line was answered, and
// the error that stopped it writing to stdout, if any. When interrupted is
// done, it stops every worker process and returns at once.
func (p *pool) answerAll(interrupted context.Context, in io.Reader, stdout io.Writer) (allAnswered bool, err error) {
	ctx, cancel := context.WithCancel(interrupted)
	defer cancel()
	batches := make(chan batch)
	futures := make(chan (<-chan []result), inFlight)
	// A feeder goroutine per worker (feeder.go); chapter 02's reader and
	// printer (chapter02.go).
	starts := &startRecord{}
	var feeding sync.WaitGroup
	for range p.workers {
		feeding.Go(func() { p.feed(ctx, starts, batches) })
	}
	go func() {
		read(ctx, in, batches, futures)
		close(batches) // Each feeder then lets its worker go.
		close(futures)
	}()
	// A read from a terminal, or a write to a full pipe, ends at no
	// signal: interrupted, we leave the reader and the printer to end
	// with the program.
	allAnswered, err = interruptible(interrupted, func() (bool, error) {
		return printInOrder(ctx, futures, stdout, p.stderr)
	})
	if err != nil {
		cancel() // Nobody would see the rest: stop the reader and the feeders.
	}
	feeding.Wait() // The workers have exited.
	if interrupted.Err() != nil {
		return false, nil
	}
	return allAnswered, err
}

// interruptible returns what f returns, or ctx's error once ctx is done,
// whichever comes first: some waits end at no signal, such as opening a
// named pipe that nobody opens to write, or writing to a full pipe. f goes
// on in its goroutine, which ends when f does, or with the program.
func interruptible[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type outcome struct {
		value T
		err   error
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	done := make(chan outcome, 1)
	go func() {
		value, err := f()
		done <- outcome{value, err}
	}()
	select {
	case o := <-done:
		return o.value, o.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// untilDone writes to w until ctx is done, so that a feeder stuck writing
// a report still sees that the pool is interrupted.
type untilDone struct {
	ctx context.Context
	w   io.Writer
}

func (u untilDone) Write(p []byte) (int, error) {
	p = bytes.Clone(p) // The write may go on after we return, when the caller reuses p.
	return interruptible(u.ctx, func() (int, error) { return u.w.Write(p) })
}

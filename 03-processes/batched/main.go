// Batched is chapter 03's full pool of worker processes, its last step:
// ../blocked, with quick lines handed to the workers in batches, as
// chapter 02's last step does, so that they pay the round trip through the
// pipes once per batch; and with the fine points of a pool in the field.
//
// Usage:
//
//	processes [-workers N] [-timeout D] [file]
//
// The pool starts N copies of its own executable with the flag -worker and
// talks to each over its standard input and output, one line per task and
// one per answer (see worker.go). A worker process that dies, or stays
// silent for longer than D over one task, is reported on standard error
// and replaced, and the line it was computing is tried once more. Exit status: 0 when every
// line was answered, 1 when a line was rejected or failed or the results
// could not be written, 2 for a usage error, 130 when interrupted (Ctrl-C,
// SIGTERM, or SIGHUP when its terminal closes).
package main

import (
	"bytes"
	"context"
	"errors"
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

// queue is the buffer of the channel of batches. A buffer lets the reader
// and the workers each run for a while without waiting for the other.
const queue = 256

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

// defaultTimeout is how long a worker process may stay silent over one
// task before the pool stops it: over twenty times what fib(45), the slowest
// task there is, takes on the machine in README's Measurements, so that a
// stuck worker is found while a valid task on a busy machine is not.
const defaultTimeout = 2 * time.Minute

func main() {
	// Ctrl-C, SIGTERM and SIGHUP are caught before anything else, and for
	// as long as the program runs: from here to os.Exit, they end it one
	// way, with exit status 130 and one message (see run). Were the default
	// handler back before os.Exit, a second Ctrl-C would kill the program
	// instead. SIGHUP comes when the terminal closes: the workers, in
	// process groups of their own, would not hear it.
	interrupted, _ := signal.NotifyContext(context.Background(), interruptions()...)
	os.Exit(run(interrupted, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// interruptions are the signals that interrupt the pool. On Windows, Go
// delivers Ctrl-C and Ctrl-Break as os.Interrupt, and the closing of the
// console as SIGTERM.
func interruptions() []os.Signal {
	return []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status; 130 when interrupted is done, whatever else happened.
func run(interrupted context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	flags := flag.NewFlagSet("processes", flag.ContinueOnError)
	flags.SetOutput(stderr)
	// By default, one worker for each CPU that Go may use: GOMAXPROCS,
	// which, unlike runtime.NumCPU, follows a CPU quota (a container's); but
	// no more than maxWorkers, since a default is never a usage error.
	workers := flags.Int("workers", min(runtime.GOMAXPROCS(0), maxWorkers), fmt.Sprintf("number of worker processes: one per CPU that Go may use (GOMAXPROCS), at most %d", maxWorkers))
	timeout := flags.Duration("timeout", defaultTimeout, "how long a worker process may stay silent over one task")
	workerMode := flags.Bool("worker", false, "serve tasks on stdin as a worker process (the pool starts its workers this way)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: processes [-workers N] [-timeout D] [file]")
		flags.PrintDefaults()
	}
	// However early the interruption, and whatever run was doing, the
	// user sees one message, last, and status 130.
	defer func() {
		if interrupted.Err() != nil && !*workerMode {
			sayLast(stderr, "processes: interrupted; the workers are stopped")
			status = 130
		}
	}()
	if err := flags.Parse(args); err == flag.ErrHelp {
		return 0 // The user asked for the usage, which the flag package has printed.
	} else if err != nil {
		return 2
	}
	if *workerMode {
		// A worker takes nothing but its tasks on stdin: anything more is
		// a mistake, such as -worker typed for -workers.
		if flags.NFlag() > 1 || flags.NArg() > 0 {
			fmt.Fprintln(stderr, "processes: -worker takes no other flag or argument (did you mean -workers N?)")
			return 2
		}
		// The pool ends its workers itself. A worker that a person runs
		// at a terminal ends at Ctrl-C, as any program does.
		signal.Reset(interruptions()...)
		return serve(stdin, stdout, stderr)
	}
	if *workers < 1 || *workers > maxWorkers {
		fmt.Fprintf(stderr, "processes: -workers %d: want from 1 to %d workers\n", *workers, maxWorkers)
		return 2
	}
	// The clock ticks ten times per timeout. Below a millisecond it would
	// tick ten thousand times a second and more, to stop workers that a
	// busy machine merely paused: a shorter timeout is a mistake.
	if *timeout < time.Millisecond {
		fmt.Fprintf(stderr, "processes: -timeout %v: want 1ms or more, such as 30s or 2m\n", *timeout)
		return 2
	}
	in, err := openInput(interrupted, flags.Args(), stdin)
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

// sayLast writes the program's last message on stderr, but waits for that
// no longer than waitDelay: stderr may be a pipe that nobody reads, and
// the message must not keep the program from ending.
func sayLast(stderr io.Writer, message string) {
	ctx, cancel := context.WithTimeout(context.Background(), waitDelay)
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
	timeout time.Duration // how long a worker may stay silent over one task
	stderr  io.Writer     // where faults are reported, and rejected lines
	starts  startRecord   // the workers that failed to start, in a row (feeder.go)
	// One worker process starts at a time. The thread that starts one
	// waits in the system until it runs, and Go starts another thread to
	// run the goroutines meanwhile: one start at a time, one such thread.
	// Under a limit on processes (ulimit -u), that leaves the threads to
	// the workers, which can fail, and not to the pool, which must not.
	starting sync.Mutex
}

// errNoWorker fails the lines that no worker process is left to compute.
var errNoWorker = errors.New("no worker process could be started to compute it")

// failAll fails, for want of a worker process, every line of results from
// the first on that was not rejected already.
func failAll(results []result, first int) {
	for i := first; i < len(results); i++ {
		if r := &results[i]; r.err == nil {
			r.err = fmt.Errorf("fib(%d) not computed: %w", r.line.N, errNoWorker)
		}
	}
}

// answerAll answers every line of in with worker processes, like chapter 02's pool
// and Python's Executor.map: results in the order of the lines, computed in
// any order. It reports whether every line was answered, and the error that
// stopped it writing to stdout, if any. When interrupted is done, it stops
// every worker process and returns at once.
func (p *pool) answerAll(interrupted context.Context, in io.Reader, stdout io.Writer) (allAnswered bool, err error) {
	// ctx stops the feeders and the reader: when we are interrupted, or
	// when the printer cannot write.
	ctx, cancel := context.WithCancel(interrupted)
	defer cancel()

	batches := make(chan batch, queue)
	futures := make(chan (<-chan []result), inFlight)

	// One feeder goroutine per worker process: it starts the process,
	// sends it batches, hears its answers and replaces it when it fails
	// (feeder.go). A feeder returns when batches is closed and every batch
	// it took is answered, when ctx is done, or when the pool gives up
	// starting workers; in every case only after its process has exited.
	var feeding sync.WaitGroup
	for range p.workers {
		feeding.Go(func() { p.feed(ctx, batches) })
	}

	// The printer is that of chapter 02's last step, and so is the reader,
	// which has a goroutine of its own, as in chapter 02: a read from a terminal
	// cannot be interrupted, and this goroutine must stay free for a
	// signal.
	type outcome struct {
		allAnswered bool
		err         error
	}
	printed := make(chan outcome, 1)
	go func() {
		allAnswered, err := printInOrder(ctx, futures, stdout, p.stderr)
		printed <- outcome{allAnswered, err}
		if err != nil {
			// Nobody will see the rest of the results: stop the reader
			// and the feeders, which kill their workers.
			cancel()
		}
	}()
	go func() {
		read(ctx, in, batches, futures)
		close(batches)
		close(futures)
	}()

	// The feeders end with the input, or when ctx is done, or when the
	// pool has given up starting workers. Lines that no feeder took then
	// fail here, each in its place, until the reader stops.
	feeding.Wait()
failRest:
	for {
		select {
		case b, open := <-batches:
			if !open {
				break failRest
			}
			failAll(b.results, 0)
			b.future <- b.results
		case <-ctx.Done():
			break failRest
		}
	}
	// When we are interrupted, the reader may be blocked in a read and the
	// printer in a write, which nothing can interrupt: we leave them to end
	// with the program.
	select {
	case o := <-printed:
		return o.allAnswered, o.err
	case <-interrupted.Done():
		return false, nil
	}
}

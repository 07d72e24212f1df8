// Threads answers a stream of numbers with a pool of worker goroutines. It is
// the Go counterpart of the Python tutorial's thread_based_workers.py.
//
// Usage:
//
//	threads [-workers N] [file]
//
// It reads one whole number per line from the file, or from standard input
// when no file is given, until the end of the input or a line `exit`, and
// prints fib(n) = value for each, in input order. A line that is not a
// number from 0 to 45 gets one line on standard error, and the rest of the
// input is still answered. Exit status: 0 when every line was answered, 1
// when a line was rejected or the results could not be written, 2 for a
// usage error.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

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

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("threads", flag.ContinueOnError)
	flags.SetOutput(stderr)
	// By default, one worker for each CPU that Go may use: GOMAXPROCS,
	// which, unlike runtime.NumCPU, follows a CPU quota (a container's); but
	// no more than maxWorkers, since a default is never a usage error.
	workers := flags.Int("workers", min(runtime.GOMAXPROCS(0), maxWorkers), fmt.Sprintf("number of worker goroutines: one per CPU that Go may use (GOMAXPROCS), at most %d", maxWorkers))
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: threads [-workers N] [file]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err == flag.ErrHelp {
		return 0 // The user asked for the usage, which the flag package has printed.
	} else if err != nil {
		return 2
	}
	if *workers < 1 || *workers > maxWorkers {
		fmt.Fprintf(stderr, "threads: -workers %d: want from 1 to %d workers\n", *workers, maxWorkers)
		return 2
	}
	in, err := fib.Open(flags.Args(), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "threads: %v\n", err)
		return 2
	}
	defer in.Close()

	allAnswered, err := pool(*workers, in, stdout, stderr)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "threads: writing results: %v\n", err)
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

// pool answers every line of in with the given number of workers, like
// Python's Executor.map: results in the order of the lines, computed in any
// order. It reports whether every line was answered, and the error that
// stopped it writing to stdout, if any. It has three kinds of goroutine, as
// in the Python tutorial's diagram: one reads the input, the workers
// compute, and one printer prints. It returns when all are done, or at
// once when stdout fails.
func pool(workers int, in io.Reader, stdout, stderr io.Writer) (allAnswered bool, err error) {
	// A printer that cannot write stops the pool, through ctx: nobody would
	// see the rest of the results.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tasks := make(chan task, queue)
	// The reader sends the printer each line's future, in input order, and
	// the printer waits on each in turn: that is all it takes to print in
	// input order. A full channel of futures stops the reader, so it is
	// also the bound on lines read but not yet printed.
	futures := make(chan (<-chan result), inFlight)

	var running sync.WaitGroup
	for range workers {
		running.Go(func() { worker(ctx, tasks) })
	}
	type outcome struct {
		allAnswered bool
		err         error
	}
	printed := make(chan outcome, 1)
	go func() {
		allAnswered, err := printInOrder(ctx, futures, stdout, stderr)
		printed <- outcome{allAnswered, err}
		if err != nil {
			// Nobody will see the rest of the results: stop the reader
			// and the workers.
			cancel()
		}
	}()

	// The reader has a goroutine of its own, so that a printer that cannot
	// write is reported at once, even while the reader waits for a line
	// that a user has not typed yet.
	go func() {
		read(ctx, in, tasks, futures)
		// Shutting down is the Go idiom, where the Python tutorial sent
		// one "exit" per thread: closing tasks ends each worker's range
		// loop, and closing futures ends the printer's, once it has
		// printed every line.
		close(tasks)
		close(futures)
	}()

	p := <-printed
	if p.err != nil {
		// The workers take no more tasks, and finish the one in hand;
		// the reader stops at its next line. We need not wait for them:
		// nothing they do now reaches stdout.
		return p.allAnswered, p.err
	}
	running.Wait()
	return p.allAnswered, nil
}

// read reads every line of in and hands it on: a number to the workers, as a
// task, and every line's future to the printer. A rejected line's future
// holds its error at once, so that its message comes out in its place among
// the results. read returns at the end of the input, or when ctx is done,
// even while it waits for the printer or the workers to take a line.
func read(ctx context.Context, in io.Reader, tasks chan<- task, futures chan<- (<-chan result)) {
	input := fib.NewReader(in)
	for ctx.Err() == nil {
		line, err := input.Next()
		if err == io.EOF {
			return
		}
		future := make(chan result, 1)
		select {
		case futures <- future: // Waits while inFlight lines are unprinted.
		case <-ctx.Done():
			return
		}
		if err != nil {
			future <- result{line: line, err: err}
			continue
		}
		select {
		case tasks <- task{line: line, result: future}:
		case <-ctx.Done():
			return
		}
	}
}

// worker computes fib for every task it receives, until tasks is closed.
// Once ctx is done, it only drains tasks: nobody will print the results.
func worker(ctx context.Context, tasks <-chan task) {
	for t := range tasks {
		if ctx.Err() != nil {
			continue
		}
		v, _ := fib.Fib(t.line.N) // The reader has checked that N is in range.
		t.result <- result{line: t.line, text: fmt.Sprintf("fib(%d) = %d\n", t.line.N, v)}
	}
}

// printInOrder waits on each future in turn and prints its result: fib(N) =
// value on stdout, a rejected line on stderr. It returns when futures is
// closed, when stdout fails, or when ctx is done, and reports whether every
// line was answered.
func printInOrder(ctx context.Context, futures <-chan (<-chan result), stdout, stderr io.Writer) (allAnswered bool, err error) {
	// Writing stdout through a buffer saves a system call per line. We flush
	// whenever we would wait, so that a user typing numbers sees each answer
	// at once, and before we write stderr, so that in a terminal a message
	// appears in its place among the results.
	out := bufio.NewWriter(stdout)
	allAnswered = true
	for {
		future, open, err := receiveOrFlush(ctx, futures, out)
		if err != nil {
			return allAnswered, err
		}
		if !open {
			break
		}
		r, _, err := receiveOrFlush(ctx, future, out)
		if err != nil {
			return allAnswered, err
		}
		if r.err != nil {
			allAnswered = false
			if err := out.Flush(); err != nil {
				return allAnswered, err
			}
			fmt.Fprintf(stderr, "line %d: %v\n", r.line.Number, r.err)
			continue
		}
		// A failed write shows here, or at the next flush: a
		// bufio.Writer keeps its first error.
		if _, err := out.WriteString(r.text); err != nil {
			return allAnswered, err
		}
	}
	return allAnswered, out.Flush()
}

// receiveOrFlush receives from ch. When nothing is there yet, it first
// flushes out, so that what is printed is seen while we wait. It gives up
// when the flush fails, or when ctx is done: nobody would see what we
// waited for. (In chapter 02 nothing ends ctx while the printer waits; the
// code is chapter 03's too, where an interruption does.)
func receiveOrFlush[T any](ctx context.Context, ch <-chan T, out *bufio.Writer) (value T, open bool, err error) {
	select {
	case value, open = <-ch:
		return value, open, nil
	default:
	}
	if err := out.Flush(); err != nil {
		return value, false, err
	}
	select {
	case value, open = <-ch:
		return value, open, nil
	case <-ctx.Done():
		return value, false, ctx.Err()
	}
}

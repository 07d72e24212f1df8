// Batches is the last step of chapter 02's pool: the pool of ../main.go,
// with lines handed to the workers in batches. Every hand-over costs a
// channel send, a future and a wake-up, about as much as fib(1) itself;
// a batch of consecutive lines pays them once, and keeps input order,
// with one future per batch, as Python's Executor.map does with chunksize.
//
// Usage:
//
//	batches [-workers N] [file]
//
// Its input, output and exit status are chapter 02's.
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

	batches := make(chan batch, queue)
	// The reader sends the printer each line's future, in input order, and
	// the printer waits on each in turn: that is all it takes to print in
	// input order. A full channel of futures stops the reader, so it is
	// also the bound on lines read but not yet printed.
	futures := make(chan (<-chan []result), inFlight)

	var running sync.WaitGroup
	for range workers {
		running.Go(func() { worker(ctx, batches) })
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
		read(ctx, in, batches, futures)
		// Shutting down is the Go idiom, where the Python tutorial sent
		// one "exit" per thread: closing tasks ends each worker's range
		// loop, and closing futures ends the printer's, once it has
		// printed every line.
		close(batches)
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

// read reads every line of in and hands the lines on in batches: each batch
// to the workers, and its future to the printer. A rejected line's result
// holds its error at once, in its place in its batch. read returns at the
// end of the input, or when ctx is done, even while it waits for the
// printer or the workers to take a batch.
func read(ctx context.Context, in io.Reader, batches chan<- batch, futures chan<- (<-chan []result)) {
	input := fib.NewReader(in)
	var results []result // the batch being gathered
	cost := 0            // what its lines cost, in calls of fib
	for ctx.Err() == nil {
		if len(results) > 0 && (cost >= budget || len(results) == maxBatch || !input.Ready()) {
			if !send(ctx, results, batches, futures) {
				return
			}
			results, cost = nil, 0
		}
		line, err := input.Next()
		if err == io.EOF {
			break
		}
		calls := 0
		if err == nil {
			calls = fib.Calls(line.N)
		}
		if len(results) > 0 && cost+calls > budget {
			if !send(ctx, results, batches, futures) { // A slow line starts a batch of its own.
				return
			}
			results, cost = nil, 0
		}
		results = append(results, result{line: line, err: err})
		cost += calls
	}
	if len(results) > 0 {
		send(ctx, results, batches, futures)
	}
}

// send hands a batch on: its future to the printer, in input order, and
// the batch to the workers, unless every line in it was rejected. It
// reports false when ctx is done first.
func send(ctx context.Context, results []result, batches chan<- batch, futures chan<- (<-chan []result)) bool {
	future := make(chan []result, 1)
	select {
	case futures <- future: // Waits while inFlight batches are unprinted.
	case <-ctx.Done():
		return false
	}
	for _, r := range results {
		if r.err == nil {
			select {
			case batches <- batch{results: results, future: future}:
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
	future <- results // Nothing to compute.
	return true
}

// worker computes fib for every line of every batch it receives, until
// batches is closed. Once ctx is done, it only drains batches: nobody will
// print the results.
func worker(ctx context.Context, batches <-chan batch) {
	for b := range batches {
		if ctx.Err() != nil {
			continue
		}
		for i := range b.results {
			if r := &b.results[i]; r.err == nil {
				v, _ := fib.Fib(r.line.N) // The reader has checked that N is in range.
				r.text = fmt.Sprintf("fib(%d) = %d\n", r.line.N, v)
			}
		}
		b.future <- b.results
	}
}

// printInOrder waits on each future in turn and prints its result: fib(N) =
// value on stdout, a rejected line on stderr. It returns when futures is
// closed, when stdout fails, or when ctx is done, and reports whether every
// line was answered.
func printInOrder(ctx context.Context, futures <-chan (<-chan []result), stdout, stderr io.Writer) (allAnswered bool, err error) {
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
		results, _, err := receiveOrFlush(ctx, future, out)
		if err != nil {
			return allAnswered, err
		}
		for _, r := range results {
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

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
// when any line was rejected, 2 for a usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"goinparallel/fib"
	"goinparallel/fib/lines"
)

// window bounds how many lines may be read but not yet printed. Without it, a
// slow first task would let the reader run ahead and keep every later result
// in memory until the first one is printed.
const window = 1024

// queue is the buffer of the tasks and results channels. A buffer lets the
// reader, the workers and the printer each run for a while without waiting
// for the others to take a turn; on trivial tasks it cuts the pool's cost
// per task from about 520 ns unbuffered to under 300 ns (see README).
const queue = 256

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("threads", flag.ContinueOnError)
	flags.SetOutput(stderr)
	workers := flags.Int("workers", runtime.NumCPU(), "number of worker goroutines")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: threads [-workers N] [file]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err == flag.ErrHelp {
		return 0 // The user asked for the usage, which the flag package has printed.
	} else if err != nil {
		return 2
	}
	if *workers < 1 || *workers > lines.MaxWorkers {
		fmt.Fprintf(stderr, "threads: -workers %d: want from 1 to %d workers\n", *workers, lines.MaxWorkers)
		return 2
	}
	in, err := lines.Open(flags.Args(), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "threads: %v\n", err)
		return 2
	}
	defer in.Close()
	if pool(*workers, in, stdout, stderr) {
		return 0
	}
	return 1
}

// pool answers every line of in with the given number of workers and
// reports whether every line was answered. It has three kinds of goroutine,
// like the Python tutorial's diagram: this one reads the input, the workers
// compute, and one printer prints. It returns only when all of them are
// done.
func pool(workers int, in io.Reader, stdout, stderr io.Writer) bool {
	tasks := make(chan lines.Task, queue)
	results := make(chan lines.Result, queue)
	// A token in free stands for a line read but not printed yet: we put one
	// in before we hand a line on, and the printer takes one out after it
	// prints a line, so no more than window lines are ever in between.
	free := make(chan struct{}, window)

	var running sync.WaitGroup
	for range workers {
		running.Go(func() { worker(tasks, results) })
	}
	allOK := make(chan bool)
	go func() {
		allOK <- lines.Print(stdout, stderr, results, func() { <-free })
	}()

	// The main goroutine reads the input and hands each line on: a number
	// to the workers, a rejected line straight to the printer, so that its
	// message comes out in its place among the results.
	lines.Dispatch(in, tasks, results, free)

	// Shutting down is the Go idiom, where the Python tutorial sent one
	// "exit" per thread: closing tasks ends each worker's range loop; when
	// the last worker is done, nobody sends results any more, so we close it,
	// which ends the printer; and we wait for the printer's answer.
	close(tasks)
	running.Wait()
	close(results)
	return <-allOK
}

// worker computes fib for every task it receives, until tasks is closed.
func worker(tasks <-chan lines.Task, results chan<- lines.Result) {
	for t := range tasks {
		v, err := fib.Fib(t.N)
		results <- lines.Result{Task: t, Value: v, Err: err}
	}
}

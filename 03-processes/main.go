// Processes is chapter 03's first process pool: the smallest pool of
// worker processes that answers like chapter 02's pool of goroutines, the
// same input, output and exit status, but with every fib computed in a
// separate operating system process. It fills the empty "Workers with
// Multiprocessing" section of the Python tutorial.
//
// Usage:
//
//	processes [-workers N] [file]
//
// It is a lesson, not a tool: a worker process that dies or hangs is not
// replaced, and the lines it owed are lost or wait for ever. The steps in
// the directories beside this file answer one fault each, in the order
// retry, deadline, interrupt, restarts, blocked; the last step, batched,
// is the full pool (see ../README.md).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"os"
	"os/exec"
	"runtime"
	"strconv"
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
	// A worker process is this same program, started with -worker: it
	// reads numbers on its standard input and writes fib of each.
	if len(os.Args) == 2 && os.Args[1] == "-worker" {
		os.Exit(serve(os.Stdin, os.Stdout))
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status: 0 when every line was answered, 1 when a line was rejected or
// failed or the results could not be written, 2 for a usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("processes", flag.ContinueOnError)
	flags.SetOutput(stderr)
	workers := flags.Int("workers", min(runtime.GOMAXPROCS(0), maxWorkers), "number of worker processes")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: processes [-workers N] [file]")
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
	in, err := fib.Open(flags.Args(), stdin)
	if err != nil {
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
	allAnswered, err := pool(program, *workers, in, stdout, stderr)
	switch {
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
func pool(program string, workers int, in io.Reader, stdout, stderr io.Writer) (allAnswered bool, err error) {
	// A printer that cannot write stops the pool, through ctx: nobody would
	// see the rest of the results.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tasks := make(chan task, queue)
	futures := make(chan (<-chan result), inFlight)

	var feeding sync.WaitGroup
	for range workers {
		feeding.Go(func() { feed(ctx, program, tasks, stderr) })
	}
	go func() {
		read(ctx, in, tasks, futures)
		close(tasks) // Each feeder then closes its worker's input...
		close(futures)
	}()
	allAnswered, err = printInOrder(ctx, futures, stdout, stderr)
	cancel()
	feeding.Wait() // ...and waits for the worker to exit.
	return allAnswered, err
}

// feed starts a worker process and keeps it busy: for each task, it writes
// the number on the worker's standard input and reads the answer from the
// worker's standard output. When tasks is closed, it closes the worker's
// input, and the worker exits. When ctx is done it does the same at once,
// without waiting for tasks to close: the reader may be waiting for a line
// that nobody types.
func feed(ctx context.Context, program string, tasks <-chan task, stderr io.Writer) {
	cmd := exec.Command(program, "-worker")
	cmd.Stderr = stderr
	// The pipes fail only when cmd.Stdin or cmd.Stdout is set already.
	toWorker, _ := cmd.StdinPipe()
	fromWorker, _ := cmd.StdoutPipe()
	startErr := cmd.Start()
	answers := bufio.NewScanner(fromWorker)
	if startErr == nil {
		defer func() {
			toWorker.Close() // The worker's loop ends...
			cmd.Wait()       // ...and it exits.
		}()
	}
	compute := func(line fib.Line) result {
		if startErr != nil {
			return notComputed(line, startErr)
		}
		fmt.Fprintln(toWorker, line.N)
		if !answers.Scan() { // The worker has died: its output has ended.
			return notComputed(line, errWorkerDied)
		}
		return result{line: line, text: fmt.Sprintf("fib(%d) = %s\n", line.N, answers.Text())}
	}
	for {
		select {
		case t, open := <-tasks:
			if !open {
				return
			}
			t.result <- compute(t.line)
		case <-ctx.Done():
			return
		}
	}
}

// errWorkerDied fails the lines that a feeder takes after its worker died.
var errWorkerDied = errors.New("the worker process died")

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

// Processes answers a stream of numbers with a pool of worker processes. It
// fills the empty "Workers with Multiprocessing" section of the Python
// tutorial: the same input, output and exit status as chapter 02's
// goroutine pool, but every worker is a separate operating system process.
//
// Usage:
//
//	processes [-workers N] [file]
//
// The pool starts N copies of its own executable with the flag -worker and
// talks to each over its standard input and output, one line per task and
// one per answer (see worker.go). A worker process that dies is reported on
// standard error and replaced, and the task it held is tried once more. Exit
// status: 0 when every line was answered, 1 when any line was rejected or
// failed, 2 for a usage error, 130 when interrupted (Ctrl-C or SIGTERM).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"goinparallel/fib/lines"
)

// window and queue are chapter 02's: how many lines may be read but not yet
// printed, and the buffer of the tasks and results channels.
const (
	window = 1024
	queue  = 256
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("processes", flag.ContinueOnError)
	flags.SetOutput(stderr)
	workers := flags.Int("workers", runtime.NumCPU(), "number of worker processes")
	workerMode := flags.Bool("worker", false, "serve tasks on stdin as a worker process (the pool starts its workers this way)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: processes [-workers N] [file]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err == flag.ErrHelp {
		return 0 // The user asked for the usage, which the flag package has printed.
	} else if err != nil {
		return 2
	}
	if *workerMode {
		return serve(stdin, stdout, stderr)
	}
	if *workers < 1 || *workers > lines.MaxWorkers {
		fmt.Fprintf(stderr, "processes: -workers %d: want from 1 to %d workers\n", *workers, lines.MaxWorkers)
		return 2
	}
	in, err := lines.Open(flags.Args(), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "processes: %v\n", err)
		return 2
	}
	defer in.Close()

	// The workers run this same program, like Python's multiprocessing with
	// its spawn start method, which starts a new interpreter on the main
	// module.
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "processes: cannot find this program to start workers: %v\n", err)
		return 1
	}

	// Ctrl-C in a terminal sends SIGINT to the pool and to its workers, which
	// ignore it (see serve): the pool stops them itself, so that it can tell
	// a shutdown from a worker that died.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok := pool(ctx, self, *workers, in, stdout, stderr)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "processes: interrupted; the workers are stopped")
		return 130
	case !ok:
		return 1
	}
	return 0
}

// pool answers every line of in with the given number of worker processes,
// each started from the executable at self, and reports whether every line
// was answered. When ctx is cancelled it stops every worker process and
// returns false at once.
func pool(ctx context.Context, self string, workers int, in io.Reader, stdout, stderr io.Writer) bool {
	tasks := make(chan lines.Task, queue)
	results := make(chan lines.Result, queue)
	free := make(chan struct{}, window)

	// Each of these goroutines owns one worker process: it feeds it tasks,
	// collects its answers and replaces it if it dies. It returns when tasks
	// is closed and every task it took is answered, or when ctx is
	// cancelled, and in both cases only after its process has exited.
	var running sync.WaitGroup
	for range workers {
		running.Go(func() { feed(ctx, self, tasks, results, stderr) })
	}
	allOK := make(chan bool)
	go func() {
		allOK <- lines.Print(stdout, stderr, results, func() { <-free })
	}()

	// The reader is chapter 02's, in a goroutine of its own this time:
	// a read from a terminal cannot be interrupted, and this goroutine must
	// stay free to stop the workers when a signal comes. The reader ends
	// when the input ends; if a signal comes first, it ends with the
	// program.
	go func() {
		lines.Dispatch(in, tasks, results, free)
		close(tasks)
	}()

	running.Wait()
	if ctx.Err() != nil {
		// Interrupted: the workers are gone, so some tasks will never be
		// answered, and the printer would wait for them. We leave it, and
		// the reader, to end with the program.
		return false
	}
	// The feeders ended because tasks was closed, so the reader is done
	// and nothing sends on results any more.
	close(results)
	return <-allOK
}

// Retry is chapter 03's second process pool: the first pool, .., with one
// idea added. A worker process that dies is replaced, and the task it was
// computing is tried once more in the new one; a task that two worker
// processes die on is given up, and reported in its place.
//
// Usage:
//
//	retry [-workers N] [file]
//
// A feeder now starts its worker when a task needs one, the first task or
// the first after a death. A worker that died while it waited for a task
// is found only when the next task fails on it, and that task is then
// reported as tried again, though the worker never read it.
//
// A worker that hangs still holds its task for ever: ../deadline answers that.
package main

import (
	"bufio"
	"context"
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

// maxTries is how many worker processes may die on the same task before
// the pool gives up on it. One death may be bad luck, the machine out of
// memory say; a second is most likely the task's own fault.
const maxTries = 2

// feed keeps a worker process busy: for each task, it has the worker compute
// it, and sends the result on. When tasks is closed, it stops its worker.
// When ctx is done, it stops its worker at once, without waiting for tasks
// to close: the reader may be waiting for a line that nobody types.
func feed(ctx context.Context, program string, tasks <-chan task, stderr io.Writer) {
	f := &feeder{program: program, stderr: stderr}
	defer f.stopWorker()
	for {
		select {
		case t, open := <-tasks:
			if !open {
				return
			}
			t.result <- f.compute(t.line)
		case <-ctx.Done():
			return
		}
	}
}

// A feeder is one feed loop: the program it starts workers from, where
// it reports their deaths, and its worker process, or nil until it needs one.
type feeder struct {
	program string
	stderr  io.Writer
	worker  *worker
}

// compute returns the result of line: its answer, from the feeder's worker
// process. If the worker dies first, compute reports it, starts a new
// worker, and tries again, up to maxTries worker processes in all.
func (f *feeder) compute(line fib.Line) result {
	for tries := 1; ; tries++ {
		if f.worker == nil {
			w, err := startWorker(f.program, f.stderr)
			if err != nil {
				return notComputed(line, err)
			}
			f.worker = w
		}
		if value, ok := f.worker.ask(line.N); ok {
			return result{line: line, text: fmt.Sprintf("fib(%d) = %s\n", line.N, value)}
		}
		// The worker has died: its output has ended. Wait tells how.
		how := "died (" + f.stopWorker() + ")"
		if tries == maxTries {
			fmt.Fprintf(f.stderr, "processes: line %d: the worker computing fib(%d) %s; giving up on it\n", line.Number, line.N, how)
			return result{line: line, err: fmt.Errorf("fib(%d) failed in %d worker processes", line.N, tries)}
		}
		fmt.Fprintf(f.stderr, "processes: line %d: the worker computing fib(%d) %s; trying a new worker\n", line.Number, line.N, how)
	}
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
	if err := w.cmd.Wait(); err != nil {
		return err.Error()
	}
	return "exit status 0"
}

// A worker is a running worker process, and the two pipes the feeder
// talks to it through.
type worker struct {
	cmd     *exec.Cmd
	tasks   io.WriteCloser // the worker's standard input
	answers *bufio.Scanner // its standard output
}

// startWorker starts a worker process from program.
func startWorker(program string, stderr io.Writer) (*worker, error) {
	cmd := exec.Command(program, "-worker")
	cmd.Stderr = stderr
	// The pipes fail only when cmd.Stdin or cmd.Stdout is set already.
	tasks, _ := cmd.StdinPipe()
	answers, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &worker{cmd: cmd, tasks: tasks, answers: bufio.NewScanner(answers)}, nil
}

// ask writes n on the worker's input and reads its answer, fib(n). It
// reports false if the worker died first.
func (w *worker) ask(n int) (value string, ok bool) {
	fmt.Fprintln(w.tasks, n)
	if !w.answers.Scan() {
		return "", false
	}
	return w.answers.Text(), true
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

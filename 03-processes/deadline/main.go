// Deadline is chapter 03's third process pool: ../retry, with one
// idea added. A worker process that takes longer than -timeout over a task
// is killed, and then treated as one that died: replaced, and its task
// tried once more.
//
// Usage:
//
//	deadline [-workers N] [-timeout D] [file]
//
// Ctrl-C still kills the pool and its workers where they stand, with no
// word and no exit status of its own: ../interrupt answers that.
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
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs as parameters. It returns the exit
// status: 0 when every line was answered, 1 when a line was rejected or
// failed or the results could not be written, 2 for a usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	allAnswered, err := pool(program, *workers, *timeout, in, stdout, stderr)
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
func pool(program string, workers int, timeout time.Duration, in io.Reader, stdout, stderr io.Writer) (allAnswered bool, err error) {
	// A printer that cannot write stops the pool, through ctx: nobody would
	// see the rest of the results.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tasks := make(chan task, queue)
	futures := make(chan (<-chan result), inFlight)

	var feeding sync.WaitGroup
	for range workers {
		feeding.Go(func() { feed(ctx, program, timeout, tasks, stderr) })
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
func feed(ctx context.Context, program string, timeout time.Duration, tasks <-chan task, stderr io.Writer) {
	f := &feeder{program: program, timeout: timeout, stderr: stderr}
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

// A feeder is one feed loop: the program it starts workers from, how long
// a worker may take over a task, where it reports faults, and its worker
// process, or nil until it needs one.
type feeder struct {
	program string
	timeout time.Duration
	stderr  io.Writer
	worker  *worker
}

// compute returns the result of line: its answer, from the feeder's worker
// process. If the worker dies first, or takes longer than the timeout and
// is killed, compute reports it, starts a new worker, and tries again, up
// to maxTries worker processes in all.
func (f *feeder) compute(line fib.Line) result {
	for tries := 1; ; tries++ {
		if f.worker == nil {
			w, err := startWorker(f.program, f.stderr)
			if err != nil {
				return notComputed(line, err)
			}
			f.worker = w
		}
		value, ok, late := f.worker.ask(line.N, f.timeout)
		if ok {
			return result{line: line, text: fmt.Sprintf("fib(%d) = %s\n", line.N, value)}
		}
		// The worker has died, or was killed: its output has ended. Wait
		// tells how.
		how := "died (" + f.stopWorker() + ")"
		if late {
			how = fmt.Sprintf("was stopped after %v", f.timeout)
		}
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

// startWorker starts a worker process from program.
func startWorker(program string, stderr io.Writer) (*worker, error) {
	cmd := exec.Command(program, "-worker")
	cmd.Stderr = stderr
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

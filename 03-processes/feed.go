package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"time"

	"goinparallel/fib/lines"
)

// maxInFlight bounds how many tasks a worker process may hold at once: sent
// to it and not yet answered. Their lines fit easily in a pipe's buffer on
// every system, so writing them never blocks.
const maxInFlight = 64

// backlog is how much work, in time, a feeder keeps queued at its worker.
// A worker that answers in microseconds gets many tasks at once, so that the
// pipes and system calls are paid once per batch; a worker that needs
// milliseconds per task gets one task at a time, so that the last tasks of a
// batch never wait behind a busy worker while another worker is idle.
const backlog = time.Millisecond

// maxDeaths is how many worker processes may die holding the same task
// before the pool gives up on it.
const maxDeaths = 2

// A sent task is a task sent to a worker process.
type sent struct {
	lines.Task
	at     time.Time // when it was last sent
	deaths int       // how many worker processes died while holding it
}

// feed keeps one worker process busy. It takes tasks, sends them to the
// process and sends each answer on as a Result. If the process dies, feed
// reports it, starts a new one and sends it the unanswered tasks again; the
// task the dead process was computing counts one death, and after maxDeaths
// it fails instead. feed returns when tasks is closed and every task it took
// is answered, or when ctx is cancelled; in both cases only after its
// worker process has exited.
func feed(ctx context.Context, self string, tasks <-chan lines.Task, results chan<- lines.Result, stderr io.Writer) {
	f := &feeder{self: self, tasks: tasks, results: results, stderr: stderr, depth: 1}
	defer f.stop()
	for f.tasks != nil || len(f.inFlight) > 0 {
		if f.w == nil && len(f.inFlight) > 0 {
			f.start()
			continue
		}
		var take <-chan lines.Task // nil, so never ready, when w holds enough
		if len(f.inFlight) < f.depth {
			take = f.tasks
		}
		// A task that is ready now joins the batch for the worker...
		select {
		case t, ok := <-take:
			f.take(t, ok)
			continue
		default:
		}
		// ...and when none is, we write the batch out before we wait if the
		// worker could run dry: when every task it holds is still in our
		// buffer, or when the batch is half of what it may hold. Otherwise
		// the worker is busy with earlier tasks, and the batch can grow
		// until their answers come.
		if f.unsent == len(f.inFlight) || f.unsent >= f.depth/2 {
			f.flush()
		}
		select {
		case <-ctx.Done():
			return
		case t, ok := <-take:
			f.take(t, ok)
		case a, ok := <-f.answers():
			f.answer(a, ok, ctx.Err() != nil)
		}
	}
}

// A feeder is the state of one feed loop.
type feeder struct {
	self    string
	tasks   <-chan lines.Task // nil once closed
	results chan<- lines.Result
	stderr  io.Writer

	w        *worker // the running worker process, or nil
	inFlight []sent  // the tasks sent to w and not yet answered, oldest first
	unsent   int     // how many of them, at the end, are still in our buffer

	depth      int           // how many tasks w may hold now: see backlog
	perTask    time.Duration // the time per task, averaged over recent answers
	lastAnswer time.Time
}

// start starts a worker process, the first or a replacement, and sends it
// every unanswered task. If it cannot start, those tasks fail.
func (f *feeder) start() {
	w, err := startWorker(f.self, f.stderr)
	if err != nil {
		for _, t := range f.inFlight {
			f.results <- lines.Result{Task: t.Task, Err: err}
		}
		f.inFlight, f.unsent = nil, 0
		return
	}
	f.w = w
	for i := range f.inFlight {
		f.inFlight[i].at = time.Now()
		w.send(f.inFlight[i].Task)
	}
	f.unsent = len(f.inFlight)
}

// take handles a receive from tasks.
func (f *feeder) take(t lines.Task, ok bool) {
	if !ok {
		f.tasks = nil // Closed: no more tasks; answer the ones we hold.
		return
	}
	f.inFlight = append(f.inFlight, sent{Task: t, at: time.Now()})
	f.unsent++
	if f.w != nil {
		f.w.send(t)
	} // Otherwise the loop starts a worker, which gets it with the rest.
}

// answers returns the channel of w's answers, or nil, which is never ready,
// when no worker is running.
func (f *feeder) answers() <-chan answer {
	if f.w == nil {
		return nil
	}
	return f.w.answers
}

// flush writes out the tasks queued for w.
func (f *feeder) flush() {
	if f.w != nil {
		f.w.flush()
	}
	f.unsent = 0
}

// answer handles a receive from w's answers: an answer to the oldest task in
// flight, or the end of w's output, which means that w has died, unless we
// are shutting down.
func (f *feeder) answer(a answer, ok, shuttingDown bool) {
	if ok && len(f.inFlight) > 0 && a.seq == f.inFlight[0].Seq {
		t := f.inFlight[0]
		f.inFlight = f.inFlight[1:]
		f.results <- lines.Result{Task: t.Task, Value: a.value}
		// Estimate the time per task from when the worker could start
		// it, and size the queue at the worker to backlog.
		now := time.Now()
		f.perTask = (7*f.perTask + now.Sub(later(t.at, f.lastAnswer))) / 8
		f.lastAnswer = now
		f.depth = min(maxInFlight, max(1, int(backlog/max(f.perTask, 1))))
		return
	}
	// The worker's output ended: the process has died. Or it sent
	// something that is not the answer we wait for: it is broken, and
	// we stop it.
	broken := ok
	status := f.w.end(broken)
	f.w = nil
	if shuttingDown || len(f.inFlight) == 0 {
		return // A shutdown, or a death with nothing lost.
	}
	what := fmt.Sprintf("died (%v)", status)
	if broken {
		what = "was stopped for sending a line that is not the next answer"
	}
	t := &f.inFlight[0]
	t.deaths++
	if t.deaths < maxDeaths {
		fmt.Fprintf(f.stderr, "processes: a worker process %s while computing fib(%d) for line %d; trying again in a new worker process\n",
			what, t.N, t.Line)
		return
	}
	fmt.Fprintf(f.stderr, "processes: a worker process %s while computing fib(%d) for line %d; that is %d deaths, giving up on it\n",
		what, t.N, t.Line, t.deaths)
	f.results <- lines.Result{Task: t.Task, Err: fmt.Errorf("fib(%d) failed: %d worker processes died computing it", t.N, t.deaths)}
	f.inFlight = f.inFlight[1:]
}

// stop ends the worker process, if one is running: gently when it holds no
// task, by closing its input, and at once when we are interrupted.
func (f *feeder) stop() {
	switch {
	case f.w == nil:
	case len(f.inFlight) == 0 && f.tasks == nil:
		f.w.finish()
	default:
		f.w.kill()
	}
	f.w = nil
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// A worker is a running worker process as its feeder sees it.
type worker struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	tasks   *bufio.Writer // buffers task lines on their way to stdin
	answers chan answer   // the answers read from stdout; closed when it ends
}

// An answer is one line of a worker's output: fib for task seq is value.
type answer struct {
	seq, value int
}

// startWorker starts a worker process from the executable at self, and a
// goroutine that reads its answers; the goroutine ends when the process's
// output ends, which it does when the process exits.
func startWorker(self string, stderr io.Writer) (*worker, error) {
	cmd := exec.Command(self, "-worker")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start a worker process: %w", err)
	}
	w := &worker{cmd: cmd, stdin: stdin, tasks: bufio.NewWriter(stdin), answers: make(chan answer, maxInFlight)}
	go func() {
		defer close(w.answers)
		out := bufio.NewReader(stdout)
		for {
			line, err := out.ReadSlice('\n')
			seq, value, ok := parsePair(line)
			if err != nil || !ok {
				// The end of the output, or a line that is not an answer:
				// an answer with seq -1 matches no task.
				if len(line) > 0 {
					w.answers <- answer{seq: -1}
				}
				return
			}
			w.answers <- answer{seq: seq, value: value}
		}
	}()
	return w, nil
}

// send queues a task line for the worker. A write to a worker that has died
// fails; we ignore that here, because the closed output tells feed.
func (w *worker) send(t lines.Task) {
	w.tasks.WriteString(strconv.Itoa(t.Seq) + " " + strconv.Itoa(t.N) + "\n")
}

// flush writes the queued task lines to the worker.
func (w *worker) flush() {
	w.tasks.Flush()
}

// end is called when the worker's output has ended, or when the worker is
// broken: it sent a line that is not the answer we wait for. It stops a
// broken worker, waits for the process to exit and returns how it ended.
func (w *worker) end(broken bool) error {
	if broken {
		w.cmd.Process.Kill()
	}
	for range w.answers { // Let the reading goroutine finish.
	}
	err := w.cmd.Wait()
	if err == nil {
		err = fmt.Errorf("exit status 0")
	}
	return err
}

// finish closes the worker's input, which tells it to exit, and waits for it.
func (w *worker) finish() {
	w.stdin.Close()
	for range w.answers {
	}
	w.cmd.Wait()
}

// kill stops the worker at once and waits for it to exit.
func (w *worker) kill() {
	w.cmd.Process.Kill()
	for range w.answers {
	}
	w.cmd.Wait()
}

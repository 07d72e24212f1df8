package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"example.com/goinparallel/fib"
)

// This file holds the feeder: the goroutine that keeps one worker process
// busy. How many tasks a worker may hold is decided in hasRoom, and when
// they are written out in mustFlush; how long it may stay silent over
// them, by its silence clock; what happens when a worker process is lost,
// in lose; and a new one is started in start.

// budget is how much work, counted in calls of the recursive fib, a feeder
// sends its worker process in all, the task in hand included, before it
// waits for answers: about a millisecond's worth (fib makes about 0.8 billion
// calls a second). Below it, many quick tasks travel together, so that the
// pipes and system calls are paid once per batch; a task that costs more
// always goes alone, so that it never waits behind another slow task while
// a worker is idle. We know what a task costs before it runs, because
// fib.Calls counts it.
const budget = 1_000_000

// maxSent bounds how many tasks a worker process may hold. Their lines fit
// easily in a pipe's buffer on every system, so writing them never blocks.
const maxSent = 64

// maxTries is how many worker processes may fail on the same task before
// the pool gives up on it.
const maxTries = 2

// ticksPerTimeout is how finely a feeder's clock measures -timeout: it
// ticks every timeout/ticksPerTimeout, and a worker is late when it has
// been silent for more than that many ticks: for at least -timeout, and at
// most a tick more. The clock counts the ticks the feeder sees, not the
// time that passes. A pool that is stopped, by Ctrl-Z or a debugger, sees
// none, and a time.Ticker keeps no more than one tick for a receiver that
// is late: however long the pool was stopped, its workers are charged a
// tick for it.
const ticksPerTimeout = 10

// startupLimit is how long a new worker process may take to say it is
// ready, counted in whole ticks of the clock, so at least a minute and at
// most a tick more. Starting is not a task, so -timeout does not bound it;
// but a worker that never starts must not keep its tasks forever.
const startupLimit = time.Minute

// maxFailedStarts is how many worker processes in a row may fail to start,
// or die before they are ready, before the pool stops starting them.
const maxFailedStarts = 3

// A sentTask is a task sent to a worker process, and not yet answered.
type sentTask struct {
	task
	failures int // how many worker processes failed while computing it
}

// A feeder is the state of one feed loop.
type feeder struct {
	pool       *pool
	reports    io.Writer      // the pool's stderr, which we stop waiting for once ctx is done
	worker     *workerProcess // the running worker process, or nil
	ready      bool           // the worker has said it is ready
	inputEnded bool           // we have closed the worker's input
	unanswered []sentTask     // sent to the worker and not yet answered, oldest first
	cost       int64          // what the unanswered tasks cost, in calls of fib
	unflushed  int            // how many of them, at the end, are still in our buffer
	silence    silenceClock   // how long the worker has said nothing
}

// feed keeps a worker process busy: it takes tasks, sends them to the
// process, and sends each answer on, as the task's result. It returns when
// tasks is closed and every task it took is answered, when ctx is done, or
// when the pool gives up starting worker processes; in every case only
// after its worker process has exited.
func (p *pool) feed(ctx context.Context, tasks <-chan task) {
	f := &feeder{pool: p, reports: untilDone{ctx, p.stderr}, silence: silenceClock{tick: p.timeout / ticksPerTimeout}}
	clock := time.NewTicker(f.silence.tick)
	defer clock.Stop()
	// The first worker starts at once, so that its start-up overlaps
	// with reading the input.
	if !f.start() {
		return
	}
	for f.worker != nil || tasks != nil || len(f.unanswered) > 0 {
		if f.worker == nil && len(f.unanswered) > 0 && !f.start() {
			return // The pool gave up starting workers: every task we held has failed.
		}
		if f.worker != nil && tasks == nil && len(f.unanswered) == 0 && !f.inputEnded {
			f.worker.closeInput() // All answered: the worker may exit.
			f.inputEnded = true
		}
		var next <-chan task // nil, so never ready, while the worker holds enough
		if f.hasRoom() {
			next = tasks
		}
		// A task that is ready now joins the batch for the worker. When
		// none is, the batch may have to go out before we wait.
		select {
		case t, open := <-next:
			if !open {
				tasks = nil // No more tasks: we answer the ones we hold.
			} else {
				f.hold(t)
			}
			continue
		default:
		}
		if f.mustFlush() {
			f.worker.flush()
			f.unflushed = 0
		}

		select {
		case <-ctx.Done():
			if f.worker != nil { // An interruption, not a fault: nothing to report.
				f.worker.kill()
				for range f.worker.messages {
				}
			}
			return
		case t, open := <-next:
			if !open {
				tasks = nil
			} else {
				f.hold(t)
			}
		case m, open := <-f.messages():
			switch {
			case open:
				f.hear(m)
			case f.inputEnded && len(f.unanswered) == 0:
				f.worker = nil // It has exited, as we asked it to.
			default:
				f.lose("died (" + f.worker.exitStatus() + ")")
			}
		case <-clock.C:
			f.tick()
		}
	}
}

// hasRoom reports whether the worker may be sent one more task: when it
// holds none, or holds few that together cost less than the budget.
func (f *feeder) hasRoom() bool {
	return len(f.unanswered) == 0 || (len(f.unanswered) < maxSent && f.cost < budget)
}

// mustFlush reports whether the tasks we have queued for the worker must be
// written out now, when no more tasks are ready: when the worker has none
// of them yet, and could run out of work; when they are half of what it
// may hold; and at once when the worker holds a slow task, which no batch
// is to hold back. Otherwise they wait for more, to travel together.
func (f *feeder) mustFlush() bool {
	return f.unflushed > 0 && (f.unflushed == len(f.unanswered) || f.unflushed >= maxSent/2 || f.cost >= budget)
}

// hold sends t to the worker process, and holds it in unanswered until the
// worker answers it. Without a worker process, t waits there for start.
func (f *feeder) hold(t task) {
	if len(f.unanswered) == 0 {
		f.silence.heard() // An idle worker starts on t now: its clock starts afresh.
	}
	f.unanswered = append(f.unanswered, sentTask{task: t})
	f.cost += int64(fib.Calls(t.line.N))
	if f.worker != nil {
		f.worker.send(t.line)
		f.unflushed++
	}
}

// messages returns the channel of the worker's messages, or nil, which is
// never ready, when there is no worker process.
func (f *feeder) messages() <-chan message {
	if f.worker == nil {
		return nil
	}
	return f.worker.messages
}

// hear handles a message from the worker: that it is ready, or the answer
// to the oldest task sent, or else nonsense, a fault. Whatever it says
// restarts the clock: the worker answers its quick tasks in batches, and
// writes what it has before it starts a slow one, so the time between two
// messages is the time of one task.
func (f *feeder) hear(m message) {
	f.silence.heard()
	switch {
	case m.ready && !f.ready:
		f.ready = true
		f.pool.starts.succeed()
	case m.answer && f.answers(m):
		f.answered(m.value)
	default:
		f.worker.kill()
		f.lose("was stopped for a wrong answer")
	}
}

// answers reports whether m answers the task that the worker computes now,
// the oldest one sent.
func (f *feeder) answers(m message) bool {
	return f.ready && m.answer && len(f.unanswered) > 0 && m.line == f.unanswered[0].line.Number
}

// answered sends value on as the result of the oldest task sent.
func (f *feeder) answered(value int) {
	t := f.unanswered[0]
	f.unanswered = f.unanswered[1:]
	f.cost -= int64(fib.Calls(t.line.N))
	t.result <- result{line: t.line, text: fmt.Sprintf("fib(%d) = %d\n", t.line.N, value)}
}

// tick moves the clock on, while the worker owes us something: that it is
// ready, an answer, or, once its input is closed, its exit. A worker that
// has been silent too long is stopped. An idle worker, which waits for a
// task, owes us nothing, and is never late.
func (f *feeder) tick() {
	if f.worker == nil || (f.ready && len(f.unanswered) == 0 && !f.inputEnded) {
		return
	}
	limit := f.pool.timeout
	if !f.ready {
		limit = startupLimit
	}
	if late, after := f.silence.ticked(limit); late {
		f.worker.kill()
		f.lose(fmt.Sprintf("was stopped after %v", after))
	}
}

// A silenceClock counts the ticks of a feeder's clock for which its worker
// has said nothing (see ticksPerTimeout).
type silenceClock struct {
	tick   time.Duration // how often the clock ticks: timeout/ticksPerTimeout
	silent int           // ticks since the worker last said something
}

// heard starts the count afresh: the worker has said something, or has just
// been given work after it had none.
func (c *silenceClock) heard() {
	c.silent = 0
}

// ticked counts a tick, and reports whether the worker has now been silent
// for longer than limit, rounded up to whole ticks, and that limit.
func (c *silenceClock) ticked(limit time.Duration) (late bool, after time.Duration) {
	c.silent++
	ticks := int((limit + c.tick - 1) / c.tick) // rounded up
	return c.silent > ticks, c.tick * time.Duration(ticks)
}

// lose handles the loss of the worker process, which has died or been
// killed: how says how. Answers it sent before it ended are kept. A worker
// that was not ready yet has failed to start, which the pool counts. One
// that was computing a task has failed on it: that task is tried again in
// a new worker process, or given up after maxTries. A worker lost with no
// task in hand is not reported: nothing was lost, and the next task starts
// a new one.
func (f *feeder) lose(how string) {
	wasReady := f.ready
	inHand := 0 // the input line of the task in hand, if any
	if len(f.unanswered) > 0 {
		inHand = f.unanswered[0].line.Number
	}
	for m := range f.worker.messages { // Until the process has exited.
		if f.answers(m) {
			f.answered(m.value)
		}
	}
	f.worker, f.ready, f.inputEnded, f.unflushed = nil, false, false, 0
	switch {
	case !wasReady:
		f.pool.starts.fail(how, f.reports)
	case len(f.unanswered) == 0 || f.unanswered[0].line.Number != inHand:
		// The task in hand was answered after all, or there was none.
	default:
		t := &f.unanswered[0]
		t.failures++
		if t.failures < maxTries {
			fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; trying a new worker\n",
				t.line.Number, t.line.N, how)
			return
		}
		fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; giving up on it\n",
			t.line.Number, t.line.N, how)
		t.result <- result{line: t.line, err: fmt.Errorf("fib(%d) failed in %d worker processes", t.line.N, t.failures)}
		f.unanswered = f.unanswered[1:]
		f.cost -= int64(fib.Calls(t.line.N))
	}
}

// start starts a worker process and sends it every task we hold. A worker
// process that cannot start is counted, and another tried, until the pool
// gives up starting them: then every task we held fails, and start reports
// false.
func (f *feeder) start() bool {
	for !f.pool.starts.givenUp() {
		f.pool.starting.Lock()
		w, err := startWorker(f.pool.program, f.reports)
		f.pool.starting.Unlock()
		if err != nil {
			f.pool.starts.fail(err.Error(), f.reports)
			continue
		}
		f.worker = w
		f.silence.heard()
		for _, t := range f.unanswered {
			w.send(t.line)
		}
		f.unflushed = len(f.unanswered)
		return true
	}
	for _, t := range f.unanswered {
		t.result <- result{line: t.line, err: fmt.Errorf("fib(%d) not computed: %w", t.line.N, errNoWorker)}
	}
	f.unanswered, f.cost = nil, 0
	return false
}

// A startRecord counts the worker processes that failed to start in a row,
// across the pool's feeders. When there have been maxFailedStarts, the pool
// gives up starting them, for good: something is wrong with the program
// or the system, not with one worker.
type startRecord struct {
	mu     sync.Mutex
	inARow int // worker processes that failed to start since one last started
}

// fail counts a worker process that failed to start: why says how. When
// the pool gives up, it says so, once.
func (s *startRecord) fail(why string, stderr io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inARow++
	if s.inARow == maxFailedStarts {
		fmt.Fprintf(stderr, "processes: %d worker processes in a row failed to start (the last: %s); starting no more\n", s.inARow, why)
	}
}

// succeed records a worker process that said it was ready. Once the pool
// has given up, it stays given up.
func (s *startRecord) succeed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inARow < maxFailedStarts {
		s.inARow = 0
	}
}

// givenUp reports whether the pool has given up starting worker processes.
func (s *startRecord) givenUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inARow >= maxFailedStarts
}

package main

import (
	"context"
	"fmt"
	"time"

	"example.com/goinparallel/fib"
)

// This file holds the feeder: the goroutine that keeps one worker process
// busy. How many tasks a worker may hold (pacing) is decided in hasRoom; what
// happens when a worker process fails (retrying) is decided in lost, and a
// new one started in replace.

// budget is how much work, counted in calls of the recursive fib, a feeder
// sends its worker process in all, the task in hand included, before it
// waits for answers: about a millisecond's worth (fib makes almost a billion
// calls a second). Below it, many quick
// tasks travel together, so that the pipes and system calls are paid once
// per batch; a task that costs more always goes alone, so that it never waits
// behind another slow task while a worker is idle. We know what a task costs
// before it runs, because fib.Calls counts it.
const budget = 1_000_000

// maxSent bounds how many tasks a worker process may hold. Their lines fit
// easily in a pipe's buffer on every system, so writing them never blocks.
const maxSent = 64

// maxTries is how many worker processes may fail on the same task before
// the pool gives up on it.
const maxTries = 2

// A sentTask is a task sent to a worker process, and not yet answered.
type sentTask struct {
	task
	failures int // how many worker processes failed while computing it
}

// A feeder is the state of one feed loop.
type feeder struct {
	pool
	worker    *workerProcess // the running worker process, or nil
	sent      []sentTask     // sent to worker and not yet answered, oldest first
	held      int            // what the tasks in sent cost, in calls of fib
	unwritten int            // how many of them, at the end, are still in our buffer

	// The oldest sent task is the one the worker computes now: deadline
	// fires when it has done so for longer than the timeout.
	deadline *time.Timer
}

// feed keeps the worker process w busy: it takes tasks, sends them to the
// process and sends each answer on, as the task's result. It returns when
// tasks is closed and every task it took is answered, when ctx is done, or
// when no worker process can be started any more; in every case only after
// its worker process has exited.
func (p pool) feed(ctx context.Context, w *workerProcess, tasks <-chan task) {
	f := &feeder{pool: p, worker: w, deadline: time.NewTimer(p.timeout)}
	defer f.deadline.Stop()
	for tasks != nil || len(f.sent) > 0 {
		if f.worker == nil && len(f.sent) > 0 && !f.replace() {
			return // No worker process can start: every task we held has failed.
		}
		var take <-chan task // nil, so never ready, while the worker holds enough
		if f.hasRoom() {
			take = tasks
		}
		// A task that is ready now joins the batch for the worker. When
		// none is, we write the batch out before we wait, if the worker
		// could run out of work: when it has nothing we have written, or
		// when the batch is half of what it may hold; and at once when
		// the worker holds a slow task, which no batch is to hold back.
		select {
		case t, open := <-take:
			if !open {
				tasks = nil // No more tasks: we answer the ones we hold.
				continue
			}
			f.take(t)
			continue
		default:
		}
		if f.unwritten > 0 && (f.unwritten == len(f.sent) || f.unwritten >= maxSent/2 || f.held >= budget) {
			f.worker.flush()
			f.unwritten = 0
		}

		select {
		case <-ctx.Done():
			if f.worker != nil {
				f.worker.kill() // An interruption, not a fault: nothing to report.
			}
			return
		case t, open := <-take:
			if !open {
				tasks = nil
				continue
			}
			f.take(t)
		case a, open := <-f.answers():
			if !open { // The worker's output has ended: it has died.
				f.lost(fmt.Sprintf("died (%v) while computing", f.worker.kill()))
				continue
			}
			f.answer(a)
		case <-f.overdue():
			f.worker.kill()
			f.lost(fmt.Sprintf("was stopped after %v computing", f.timeout))
		}
	}
	if f.worker != nil {
		f.worker.finish()
	}
}

// hasRoom reports whether the worker may be sent one more task: when it
// holds none, or holds few that together cost less than the budget.
func (f *feeder) hasRoom() bool {
	return len(f.sent) == 0 || (len(f.sent) < maxSent && f.held < budget)
}

// take sends t to the worker process. Without a worker process, t waits in
// sent for replace.
func (f *feeder) take(t task) {
	f.sent = append(f.sent, sentTask{task: t})
	f.held += fib.Calls(t.line.N)
	if f.worker != nil {
		f.worker.send(t.line)
		f.unwritten++
		if len(f.sent) == 1 {
			f.deadline.Reset(f.timeout) // The worker starts on it now.
		}
	}
}

// answers returns the channel of the worker's answers, or nil, which is
// never ready, when there is no worker process.
func (f *feeder) answers() <-chan answer {
	if f.worker == nil {
		return nil
	}
	return f.worker.answers
}

// overdue returns the channel on which the deadline of the task in hand
// fires, or nil while the worker has no task in hand.
func (f *feeder) overdue() <-chan time.Time {
	if f.worker == nil || len(f.sent) == 0 {
		return nil
	}
	return f.deadline.C
}

// answer handles a line from the worker: the answer to the oldest task
// sent, or else a fault.
func (f *feeder) answer(a answer) {
	switch {
	case !a.ok || len(f.sent) == 0 || a.line != f.sent[0].line.Number:
		f.worker.kill()
		f.lost("was stopped for sending a line that is not the next answer while computing")
	default:
		t := f.sent[0]
		f.sent = f.sent[1:]
		f.held -= fib.Calls(t.line.N)
		t.result <- result{line: t.line, text: fmt.Sprintf("fib(%d) = %d\n", t.line.N, a.value)}
		f.deadline.Reset(f.timeout) // The worker starts on the next task now.
	}
}

// lost handles the loss of the worker process, which has exited: what says
// how it was lost. The task it was computing counts a failure; it is tried
// again in a new worker process, or given up after maxTries. A worker lost
// with no task in hand is not reported: nothing was lost, and the next task
// starts a new one.
func (f *feeder) lost(what string) {
	f.worker, f.unwritten = nil, 0
	if len(f.sent) == 0 {
		return
	}
	t := &f.sent[0]
	t.failures++
	if t.failures < maxTries {
		fmt.Fprintf(f.stderr, "processes: a worker process %s fib(%d) for line %d; trying again in a new worker process\n",
			what, t.line.N, t.line.Number)
		return
	}
	fmt.Fprintf(f.stderr, "processes: a worker process %s fib(%d) for line %d; giving up on it\n",
		what, t.line.N, t.line.Number)
	t.result <- result{line: t.line, err: fmt.Errorf("fib(%d) failed in %d worker processes", t.line.N, t.failures)}
	f.sent = f.sent[1:]
	f.held -= fib.Calls(t.line.N)
}

// replace starts a new worker process and sends it every task the lost one
// had not answered. If none can start, those tasks fail, and replace reports
// false: the feeder is done, and the other feeders carry on.
func (f *feeder) replace() bool {
	w, err := startWorker(f.self, f.stderr)
	if err != nil {
		fmt.Fprintf(f.stderr, "processes: %v; carrying on without it\n", err)
		for _, t := range f.sent {
			t.result <- result{line: t.line, err: fmt.Errorf("fib(%d) not computed: %w", t.line.N, errNoWorker)}
		}
		f.sent, f.held = nil, 0
		return false
	}
	f.worker = w
	for _, t := range f.sent {
		w.send(t.line)
	}
	f.unwritten = len(f.sent)
	f.deadline.Reset(f.timeout)
	return true
}

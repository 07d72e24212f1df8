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
// busy. How many batches a worker may hold is decided in hasRoom; how long
// it may stay silent over them, by its silence clock; what happens when a
// worker process is lost, in lose; and a new one is started in start.

// maxHeld bounds how many batches a worker process may hold: the one it
// computes, and the next, which waits in its pipe so that the worker never
// waits for us between two batches. A second batch joins only while the
// first costs less than the budget: none waits behind a slow line.
const maxHeld = 2

// maxTries is how many worker processes may fail on the same line before
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
// but a worker that never starts must not keep its lines forever.
const startupLimit = time.Minute

// maxFailedStarts is how many worker processes in a row may fail to start,
// or die before they are ready, before the pool stops starting them.
const maxFailedStarts = 3

// A sentBatch is a batch sent to a worker process, and not answered in
// full yet. The worker answers its lines in order: the next one it answers,
// the line in hand, is results[next].
type sentBatch struct {
	batch
	next     int // the first line not answered yet, and not rejected
	failures int // how many worker processes failed while computing that line
}

// A feeder is the state of one feed loop.
type feeder struct {
	pool       *pool
	reports    io.Writer      // the pool's stderr, which we stop waiting for once ctx is done
	worker     *workerProcess // the running worker process, or nil
	ready      bool           // the worker has said it is ready
	inputEnded bool           // we have closed the worker's input
	unanswered []sentBatch    // sent to the worker and not yet answered, oldest first
	cost       int64          // what their lines not yet answered cost, in calls of fib
	silence    silenceClock   // how long the worker has said nothing
}

// feed keeps a worker process busy: it takes batches, sends their lines to
// the process, and sends each batch on, as its future's result, once the
// worker has answered every line. It returns when batches is closed and
// every batch it took is answered, when ctx is done, or when the pool gives
// up starting worker processes; in every case only after its worker
// process has exited.
func (p *pool) feed(ctx context.Context, batches <-chan batch) {
	f := &feeder{pool: p, reports: untilDone{ctx, p.stderr}, silence: silenceClock{tick: p.timeout / ticksPerTimeout}}
	clock := time.NewTicker(f.silence.tick)
	defer clock.Stop()
	// The first worker starts at once, so that its start-up overlaps
	// with reading the input.
	if !f.start() {
		return
	}
	for f.worker != nil || batches != nil || len(f.unanswered) > 0 {
		if f.worker == nil && len(f.unanswered) > 0 && !f.start() {
			return // The pool gave up starting workers: every batch we held has failed.
		}
		if f.worker != nil && batches == nil && len(f.unanswered) == 0 && !f.inputEnded {
			f.worker.closeInput() // All answered: the worker may exit.
			f.inputEnded = true
		}
		var next <-chan batch // nil, so never ready, while the worker holds enough
		if f.hasRoom() {
			next = batches
		}
		select {
		case <-ctx.Done():
			if f.worker != nil { // An interruption, not a fault: nothing to report.
				f.worker.kill()
				f.letGo()
			}
			return
		case b, open := <-next:
			if !open {
				batches = nil // No more batches: we answer the ones we hold.
			} else {
				f.hold(b)
			}
		case ms, open := <-f.messages():
			switch {
			case open:
				f.hear(ms)
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

// hasRoom reports whether the worker may be sent one more batch: when it
// holds none, or holds fewer than maxHeld that together cost less than
// the budget.
func (f *feeder) hasRoom() bool {
	return len(f.unanswered) == 0 || (len(f.unanswered) < maxHeld && f.cost < budget)
}

// hold sends the lines of b to the worker process, in one write, and holds
// b in unanswered until the worker has answered them. Without a worker
// process, b waits there for start. b has a line to compute: the reader
// sends no batch whose every line was rejected (send, in chapter02.go),
// and inHand counts on it.
func (f *feeder) hold(b batch) {
	if len(f.unanswered) == 0 {
		f.silence.heard() // An idle worker starts on b now: its clock starts afresh.
	}
	f.unanswered = append(f.unanswered, sentBatch{batch: b, next: firstToCompute(b.results, 0)})
	for _, r := range b.results {
		if r.err == nil {
			f.cost += int64(fib.Calls(r.line.N))
		}
	}
	if f.worker != nil {
		f.worker.send(b.results)
	}
}

// firstToCompute returns the index of the first line of results, from i on,
// that was not rejected, or len(results) when there is none.
func firstToCompute(results []result, i int) int {
	for i < len(results) && results[i].err != nil {
		i++
	}
	return i
}

// messages returns the channel of the worker's messages, or nil, which is
// never ready, when there is no worker process.
func (f *feeder) messages() <-chan []message {
	if f.worker == nil {
		return nil
	}
	return f.worker.messages
}

// hear handles what the worker has said: that it is ready, or answers, in
// order, to the lines sent, or else nonsense, a fault. Whatever it says
// restarts the clock: the worker answers its quick lines in batches, and
// writes what it has before it starts a slow one, so the time between two
// messages is the time of one slow line, or of at most two batches of
// quick ones.
func (f *feeder) hear(ms []message) {
	f.silence.heard()
	for _, m := range ms {
		switch {
		case m.ready && !f.ready:
			f.ready = true
			f.pool.starts.succeed()
		case m.answer && f.answers(m):
			f.answered(m.value)
		default:
			f.worker.kill()
			f.lose("was stopped for a wrong answer")
			return
		}
	}
}

// inHand returns the line that the worker computes now, the oldest one
// sent and not answered, or nil when there is none.
func (f *feeder) inHand() *result {
	if len(f.unanswered) == 0 {
		return nil
	}
	b := &f.unanswered[0]
	return &b.results[b.next]
}

// answers reports whether m answers the line in hand.
func (f *feeder) answers(m message) bool {
	r := f.inHand()
	return f.ready && m.answer && r != nil && m.line == r.line.Number
}

// answered gives the line in hand its answer, value, and moves on to the
// next line; a batch whose every line is answered goes to its future.
func (f *feeder) answered(value int) {
	r := f.inHand()
	r.text = fmt.Sprintf("fib(%d) = %d\n", r.line.N, value)
	f.done()
}

// done moves on from the line in hand, answered or given up.
func (f *feeder) done() {
	b := &f.unanswered[0]
	f.cost -= int64(fib.Calls(b.results[b.next].line.N))
	b.next, b.failures = firstToCompute(b.results, b.next+1), 0
	if b.next == len(b.results) {
		b.future <- b.results
		f.unanswered = f.unanswered[1:]
	}
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
	since  time.Time     // when the worker last said something
}

// heard starts the count afresh: the worker has said something, or has just
// been given work after it had none.
func (c *silenceClock) heard() {
	c.silent, c.since = 0, time.Now()
}

// ticked counts a tick, and reports whether the worker has now been silent
// for longer than limit, rounded up to whole ticks, and that limit. A tick
// that came due before the worker last spoke may still arrive after it, and
// count as the first of the silence: the worker is late only once the
// limit has passed on the wall clock as well, so never early.
func (c *silenceClock) ticked(limit time.Duration) (late bool, after time.Duration) {
	c.silent++
	ticks := int((limit + c.tick - 1) / c.tick) // rounded up
	after = c.tick * time.Duration(ticks)
	return c.silent > ticks && time.Since(c.since) >= after, after
}

// lose handles the loss of the worker process, which has died or been
// killed: how says how. Answers it sent before it ended are kept. A worker
// that was not ready yet has failed to start, which the pool counts. One
// that was computing a line has failed on it: that line is tried again in
// a new worker process, or given up after maxTries. A worker lost with no
// line in hand is not reported: nothing was lost, and the next batch
// starts a new one.
func (f *feeder) lose(how string) {
	wasReady := f.ready
	inHand := f.inHand()
	for _, m := range f.letGo() {
		if f.answers(m) {
			f.answered(m.value)
		}
	}
	f.ready = false // The next worker must say it is ready.
	switch {
	case !wasReady:
		f.pool.starts.fail(how, f.reports)
	case inHand == nil || f.inHand() != inHand:
		// The line in hand was answered after all, or there was none.
	default:
		f.unanswered[0].failures++
		if f.unanswered[0].failures < maxTries {
			fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; trying a new worker\n",
				inHand.line.Number, inHand.line.N, how)
			return
		}
		fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; giving up on it\n",
			inHand.line.Number, inHand.line.N, how)
		inHand.err = fmt.Errorf("fib(%d) failed in %d worker processes", inHand.line.N, maxTries)
		f.done()
	}
}

// letGo closes the input of the worker process, which has died or been
// killed, if we have not yet, and waits for it to exit. It returns what the
// worker said before it ended, and leaves the feeder with no worker; but
// ready as it was, since the answers it returns count only from a worker
// that was ready.
func (f *feeder) letGo() []message {
	if !f.inputEnded {
		f.worker.closeInput()
	}
	var said []message
	for ms := range f.worker.messages { // Until the process has exited.
		said = append(said, ms...)
	}
	f.worker, f.inputEnded = nil, false
	return said
}

// start starts a worker process and sends it the lines of every batch we
// hold that are not answered yet. A worker process that cannot start is
// counted, and another tried, until the pool gives up starting them: then
// every line we held fails, and start reports false.
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
		for _, b := range f.unanswered {
			w.send(b.results[b.next:])
		}
		return true
	}
	for _, b := range f.unanswered {
		failAll(b.results, b.next)
		b.future <- b.results
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
